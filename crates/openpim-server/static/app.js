// OpenPIM web UI: progressive enhancement only; every page works without this file.
// Times: the server writes <time datetime="...Z">2026-11-23 01:02 UTC</time>; this shows them in
// the browser's time zone, keeping the UTC time in the hover title.
(function () {
  'use strict';
  var pad = function (n) { return (n < 10 ? '0' : '') + n; };
  var zone = '';
  try {
    zone = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' })
      .formatToParts(new Date())
      .filter(function (p) { return p.type === 'timeZoneName'; })
      .map(function (p) { return p.value; })[0] || '';
  } catch (e) {
    zone = '';
  }
  var times = document.querySelectorAll('time[datetime]');
  for (var i = 0; i < times.length; i++) {
    var el = times[i];
    var d = new Date(el.getAttribute('datetime'));
    if (isNaN(d.getTime())) continue;
    var utc = el.getAttribute('title') || el.textContent;
    el.textContent = d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + (zone ? ' ' + zone : '');
    el.setAttribute('title', utc);
    el.classList.add('local');
  }
})();
