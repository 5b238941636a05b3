//! What every client command runs with: the connection, the output format, the local clock
//! (for "in 1h 59m") and caches of names already looked up.

use crate::client::Client;
use crate::output::Format;
use openpim_proto::directory::User;
use openpim_proto::roles::UnifiedRoleDefinition;
use std::collections::HashMap;
use std::sync::Mutex;
use time::OffsetDateTime;
use uuid::Uuid;

pub struct Ctx {
    pub client: Client,
    /// The same server with the token for Azure Resource Manager's routes (`openpim azure`):
    /// `--arm-token`, else the Graph token (see docs/CLI.md, "Azure resources").
    pub arm: Client,
    pub format: Format,
    pub now: OffsetDateTime,
    /// Every role definition (id, names), fetched once per run.
    pub(crate) roles: Mutex<Option<Vec<UnifiedRoleDefinition>>>,
    /// Object id → UPN or group name, for showing principals.
    pub(crate) names: Mutex<HashMap<Uuid, String>>,
    pub(crate) me: Mutex<Option<User>>,
}

impl Ctx {
    pub fn new(client: Client, arm: Client, format: Format) -> Self {
        Self {
            client,
            arm,
            format,
            now: OffsetDateTime::now_utc(),
            roles: Mutex::new(None),
            names: Mutex::new(HashMap::new()),
            me: Mutex::new(None),
        }
    }
}
