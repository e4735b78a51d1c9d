# The back office's console (crates/backoffice/src/console/): the pages
# operators work in. The same messages and variables as fr/console.ftl
# (tested).

## Navigation
nav-dashboard = Dashboard
nav-blocked = STCA2 port not open
nav-secondary = Secondary connectivity
nav-exports = Exports
nav-tokens = Tokens
nav-sign-out = Sign out

## Sign-in
signin-title = Sign in
signin-token = Admin token
signin-hint = Paste a token issued by "stca2-probe token issue --admin". A probe token cannot sign in.
signin-submit = Sign in
signin-unknown = Unknown or revoked token: check it, or have a new one issued.
signin-probe-token = This is a probe token: it can only upload reports. Sign in with an admin token.

## Dashboard
dashboard-title = Dashboard
dashboard-reporting = Probes reporting
dashboard-closed = Check – STCA2 port not open
dashboard-secondary = Ready for secondary connectivity
dashboard-interception = Suspected TLS interceptions
dashboard-old-ca = Old STCA chains
dashboard-expiring = Chains expiring soon
dashboard-silent = Silent probes
dashboard-silent-note = A probe is silent when it has sent no report for { $n } minutes (three intervals): the box may be off or unplugged.

## Lists
blocked-title = Check – STCA2 port not open
secondary-title = Secondary connectivity
secondary-ready = Site 2 reachable: configure it as failover
secondary-open-first = A port must be opened first
list-all = Every probe
list-interception = Suspected TLS interceptions
list-old-ca = Old STCA chains
list-expiring = Chains expiring soon
list-silent = Silent probes
list-empty = No probe matches.
list-next = Next page
list-export = Export this list (ISP CSV, campaigns)
filter-merchant = Merchant
filter-since = Latest report since
filter-recommendation = Recommendation
filter-any = Any
filter-sort = Sort
filter-sort-default = Default
filter-sort-since = Since (oldest first)
filter-sort-probe = Probe
filter-apply = Filter
col-merchant = Merchant
col-probe = Probe
col-ip = Public IP
col-since = Since
col-streak = Consecutive reports
col-last = Latest report
col-recommendation = Recommendation
col-what = What blocks
col-site = Site
col-role = Role
col-endpoint = Address
col-service = Service
col-family = CA family
col-expiry = Expiry
col-latency = Connect / handshake (medians)

## Recommendations
recommendation-configure-secondary = Configure site 2 as failover
recommendation-open-secondary = Open site 2, then configure it
recommendation-open-primary = Open the primary site
recommendation-open-both = Open both sites
recommendation-none = Nothing to do

## A probe's page
probe-title = Probe
probe-port = STCA2 port
probe-port-closed = STCA2 port not open
probe-port-open = open
probe-streak = { $n ->
    [one] { $n } report
   *[other] { $n } reports
}
probe-state = State unchanged since
probe-state-report = The report of { $value }, which began this state: every report since said the same (ports, chains, recommendation, findings). Times, latencies and figures in findings are that report's; days to expiry count from today.
probe-verdict = Latest verdict
probe-targets = Sites and ports
probe-chains = Certificate chains
probe-issuer = issued by
probe-not-after = valid until
probe-days = { $n ->
    [one] { $n } day
   *[other] { $n } days
}
probe-history = Recent history
probe-chart = Connect and handshake latency over { $n ->
    [one] { $n } report
   *[other] { $n } reports
}
probe-connect = connect
probe-handshake = handshake
probe-raw = Raw JSON report
role-primary = primary
role-secondary = failover

## Exports
exports-title = Exports
exports-count = { $n ->
    [0] No terminal in this list.
    [one] { $n } terminal in this list.
   *[other] { $n } terminals in this list.
}
exports-isp = CSV for the ISP ticket
exports-isp-link = Download the ISP CSV
exports-campaign = "Campagne" exports
exports-campaign-hint = The list split into files of at most 2,000 terminals, the limit of one campaign.
exports-part = Campaign, part { $k } of { $of }

## Tokens
tokens-title = Tokens
tokens-issue = Issue a token
tokens-issue-submit = Issue
tokens-issued = Here is the token. Copy it now: it will never be shown again.
tokens-kind = Kind
tokens-kind-admin = admin
tokens-kind-probe = probe
tokens-list = Issued tokens
tokens-id = Id
tokens-created = Issued
tokens-revoked = Revoked
tokens-revoke = Revoke
tokens-error-probe = A probe token names its probe: fill in the "Probe" field.
tokens-error-hash = No such token.

## Errors
error-title = Error
error-back = Back to the dashboard
error-csrf = Form refused: it does not come from this console or has expired. Reload the page and try again.
error-database = The database does not answer: { $value }. Try again in a moment.
error-no-probe = No probe "{ $value }" has sent a report.
error-since = "Since" takes a date (2026-03-02) or an RFC 3339 time.
error-recommendation = Unknown recommendation.
error-cursor = Invalid page link: go back to the first page.
error-part = This part of the campaign does not exist.
error-csv = The export could not be written.

## Back-office commands: `token` and `export` (crates/backoffice/src/cli.rs).

token-issued = Issued { $kind ->
    [admin] an admin token
    [probe] a token for probe "{ $probe }"
   *[other] a token
} (id { $id }). It is shown only this once: store it now (daemon config `token`, or `Authorization: Bearer`).
token-not-an-id = { $text } is neither a token (stca2_...) nor a token id (8 or more hex digits from `stca2-probe token list`)
token-none-revoked = No live token matched; nothing revoked (see `stca2-probe token list`).
token-revoked = Revoked { $count } { $count ->
    [one] token
   *[other] tokens
}.
token-list-id = id
token-list-kind = kind
token-list-probe = probe
token-list-merchant = merchant
token-list-created = created
token-list-revoked = revoked
export-bad-time = --{ $flag } { $value } is not an RFC 3339 time (e.g. 2025-01-31T12:00:00Z)
export-cannot-create = cannot create { $path }
export-done = Exported { $count } { $count ->
    [one] row
   *[other] rows
}.
