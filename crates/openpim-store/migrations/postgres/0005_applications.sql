-- Applications (app registrations) and service principals. An application is a directory scope
-- ("/{applicationObjectId}"); a service principal is a principal that can hold roles. One
-- service principal per application (app_id) in this tenant.
CREATE TABLE applications (
    id            TEXT PRIMARY KEY,
    app_id        TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    description   TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX applications_display_name ON applications (display_name);

CREATE TABLE service_principals (
    id                      TEXT PRIMARY KEY,
    app_id                  TEXT NOT NULL UNIQUE,
    app_display_name        TEXT,
    display_name            TEXT NOT NULL,
    description             TEXT,
    service_principal_type  TEXT NOT NULL,
    account_enabled         BIGINT NOT NULL,
    created_at              BIGINT NOT NULL
);
CREATE INDEX service_principals_display_name ON service_principals (display_name);
