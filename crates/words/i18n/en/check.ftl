# What `check`, `demo` and `lab` print for a person around the verdict: the
# human report's labels and table, progress lines, and the errors a person
# acts on. (The verdict's sentences are in verdict.ftl.)

## The human report.

report-failover = Failover:
# The failover line: the label (report-failover), then the recommendation.
report-failover-line = { $label } { $message }
report-findings = Findings:
report-warnings = Warnings:
report-severity = { $severity ->
    [error] error
    [warning] warning
   *[info] info
}
report-footer = report { $id } | target set { $set } | probe { $probe } | { $when }
# One finding: "- error (port_closed): message".
report-finding-line = - { $severity } ({ $code }): { $message }

## The table: its headers, then the words in its cells.

table-site = SITE
table-role = ROLE
table-target = TARGET
table-service = SERVICE
table-tcp = TCP
table-tls = TLS
table-ca = CA
table-connect = CONNECT p50/p99
table-handshake = HANDSHAKE p50
table-none = -
table-role-value = { $role }
table-service-value = { $service }
# A TCP status, as the probe records it: open, timeout, refused, unreachable, error.
table-tcp-status = { $status }
# A TLS status: ok, alert, reset, eof, timeout, client_auth_required, error.
table-tls-status = { $status }
table-ca-unknown = unknown

## How to read the table: what each status means and what to do
## (`stca2-probe check --explain`).

explain-title = How to read the report:
explain-tcp-timeout = TCP timeout: a router silently drops the connection request. Open outbound TCP to the address and port shown.
explain-tcp-refused = TCP refused: something answers with a reset (a rejecting firewall, or nothing listens). Open outbound TCP to the address and port shown; if it persists with the port open, call the gateway operator.
explain-tcp-unreachable = TCP unreachable: an ICMP error came back (host or network unreachable, administratively prohibited). A routing or firewall rule on the path: give the ISP the detail line.
explain-tls-reset = TLS reset right after TCP open: a filtering middlebox kills the TLS handshake. Disable "SSL inspection" or DPI for these addresses.
explain-ca-stca = CA STCA: the old certificate chain is still presented. The gateway side is not migrated (or an old proxy answers).
explain-ca-unknown = CA unknown: the chain matches neither authority. Suspected TLS interception on the merchant's network; the issuer is named.
explain-tls-client-auth = TLS client_auth_required on 7212: the declaration port asks for a terminal certificate. Expected of the real gateway; not a failure.
explain-not-measured = TCP error with the finding not_measured: the probe did not test it (the allow-list refused the address or its DNS server, or a local error such as a --source that is not on this machine). Nothing about the router; fix the probe's flags or allow-list and check again.

## `check`.

check-progress = checking { $set } ({ $sites ->
    [one] { $sites } site
   *[other] { $sites } sites
} × { $ports ->
    [one] { $ports } port
   *[other] { $ports } ports
} = { $total ->
    [one] { $total } target
   *[other] { $total } targets
}, { $attempts ->
    [one] { $attempts } attempt
   *[other] { $attempts } attempts
} each, up to { $timeout } per step)…
check-ceiling-empty = { $variable } is set but empty, which allows nothing; unset it, or list the networks the probe may contact
check-nothing-sent = nothing was sent; no target of { $path } was contacted
check-cannot-write = cannot write { $path }

## `check --watch`.

watch-start = Watching: a new check every { $every }, for up to { $timeout }. Change the router's rules now; Ctrl-C to stop.
watch-verdict = { $time } — { $headline }
watch-changed = { $port } to { $host }: { $change }
watch-change = { $what ->
    [open] now open
    [answers] now answers TLS
    [ready] now open, answers with STCA2
    [not-measured] not measured
    [closed] now closed
    [tls-failing] TCP opens, TLS fails
    [not-stca2] answers without an STCA2 certificate
   *[other] now { $what }
}
watch-ready = Everything is ready: the terminal can move to STCA2.
watch-timeout = Still not ready after { $timeout }: stopping (exit code 1). The last verdict is above.

## `check --upload` (crates/daemon/src/check_upload.rs).

upload-sent = Report sent to the back office. Report id to quote on the phone: { $id }
upload-failed = The report could not be sent to the back office: { $error }. Nothing is lost: the report is printed above (or written to --out) and kept in { $kept }. Run check --upload again once the network is back, or give the support desk the report id { $id }.
upload-token-refused = The back office refused the probe's token in { $path } ({ $error }): it is wrong, revoked, or issued for another probe. Ask the support desk for a probe token for probe { $probe }, write it in that file, and run check --upload again. The report (id { $id }) is printed above and kept in { $kept }.
upload-rejected = The back office refused this report ({ $error }). Give the support desk the report id { $id } and the file { $kept }; the report is printed above.
upload-token-unreadable = The probe's token cannot be read ({ $error }). Write the probe token the support desk gave you in { $path }, one line, then run the check again. Nothing was checked or sent.
upload-bad-flags = check --upload cannot send to this back office: { $error }. Nothing was checked or sent.
upload-no-token = check --upload needs the file holding the probe's token: add --upload-token FILE.

## `demo` and `lab`.

demo-serving = demo: a simulated gateway (scenario `{ $scenario }`) is serving on { $addresses }; checking it…
lab-list-scenarios = scenarios:
lab-list-behaviours = behaviours (also usable as --scenario, for every site and port):
lab-started = stca2-probe lab: scenario `{ $scenario }`
lab-ca-written = CA certificates written to { $path }
lab-targets-written = Target file written to { $path }
lab-next = In another terminal: stca2-probe check --targets { $path }
lab-stop = Ctrl-C to stop.
lab-unknown-scenario = `{ $name }` is neither a scenario nor a behaviour: choose a scenario ({ $scenarios }) or a behaviour for every site and port ({ $behaviours }); `stca2-probe lab --list` describes them

## `lab --list`: what each scenario and behaviour simulates.

lab-scenario-healthy = both sites migrated: STCA2 on 1146, client-certificate request with the STCA2 chain on 7212
lab-scenario-primary-blocked = the router blocks site 1 (primary) on both ports; site 2 is healthy: configure site 2 as failover, and open site 1
lab-scenario-secondary-blocked = site 1 is healthy, the router blocks site 2 (secondary) on both ports: failover would not work
lab-scenario-both-blocked = the router blocks both sites on every port: nothing can migrate
lab-scenario-old-ca = both sites still serve the old STCA chain on every port
lab-scenario-intercepted = a TLS-inspecting middlebox answers for both sites with its own chain
lab-scenario-mixed = site 1 healthy (STCA2 on 1146, client-auth on 7212); site 2 swallowed on 1146 (silent) and refused on 7212 (closed): the terminal works but failover to site 2 would not
lab-scenario-slow = both sites migrated but the payment port answers TLS only after a delay (slow_delay)
lab-scenario-expired = both sites serve an STCA2 leaf whose validity has ended on 1146
lab-scenario-uniform = every site and port: { $behaviour }
lab-behaviour-stca2 = TLS, STCA2 chain (leaf + intermediate)
lab-behaviour-stca = TLS, old STCA chain
lab-behaviour-closed = nothing listening (connection refused)
lab-behaviour-silent = accepts TCP, never answers
lab-behaviour-reset-after-hello = reads the ClientHello, then resets
lab-behaviour-client-auth = TLS, STCA2 chain, requires a client certificate
lab-behaviour-interceptor = TLS, chain from an unrelated interceptor root
lab-behaviour-expired = TLS, expired STCA2 leaf
lab-behaviour-slow = TLS, STCA2 chain, after a delay
lab-behaviour-tls12-only = TLS 1.2 only, STCA2 chain
lab-behaviour-garbage = answers with non-TLS bytes (HTTP 400)
lab-behaviour-legacy-stca = legacy TLS 1.2 stack, STCA chain
lab-behaviour-forged = TLS, forged leaf naming the STCA2 intermediate + the real intermediate

## Warnings about the target set (engine/src/targets.rs).

target-warning-anchors-missing = no { $family } anchors at { $path }: CA families cannot be told apart until the operator drops the PEM file there{ $lookup ->
    [by-name] {" "}(or set { $variable } to the folder that holds it)
   *[relative] {""}
}; reachability is still checked

## The allow-list's refusals, before anything is sent (engine/src/check.rs).

refused-address = refusing site `{ $site }` ({ $ip }): { $why }
refused-not-allowed = { $addr } is outside the allow-list ({ $list }); { $fix ->
    [key] add to `allow`
   *[flag] pass --allow with
} a network that contains it
refused-above-ceiling = { $addr } is outside { $variable } ({ $list }); no flag can lift that ceiling: change the environment if this destination is really wanted
refused-resolver = site `{ $site }` is a hostname: resolving it would contact { $count ->
    [one] the DNS server
   *[other] the DNS servers
} { $servers }, outside the allow-list; { $fix ->
    [key] add to `allow`
   *[flag] pass --allow with
} the DNS server's and the gateway's networks, or write the gateway's IP address
refused-resolver-ceiling = site `{ $site }` is a hostname: resolving it would contact { $count ->
    [one] the DNS server
   *[other] the DNS servers
} { $servers }, outside { $variable } ({ $list }); no flag can lift that ceiling: write the gateway's IP address, or change the environment if this DNS server is really wanted

## Command-line values (engine/src/cli.rs).

duration-invalid = `{ $value }`: { $error } (write 10m, 90s, 1m 30s)
duration-zero = `{ $value }` is no time at all

## A command this build was made without (src/absent.rs).

absent-command = `{ $name }` is part of { $part ->
    [lab] the lab
   *[backoffice] the back office
}, which this build of stca2-probe was made without{ $shop ->
    [yes] {" "}(this is the shop build: `check` and `daemon`)
   *[no] {""}
}. Run it from the full build, on the back-office server or a workstation: `cargo build --release` (default features), or the stca2-probe package built that way.

## Errors in what the person typed or wrote (flags, target files, environment).

cidr-invalid = `{ $text }` is not a network: write an address or a CIDR such as 127.0.0.0/8 or ::1/128
ceiling-not-unicode = { $variable } is set but is not valid UTF-8, so the ceiling it sets cannot be read; set it to comma-separated networks such as 127.0.0.0/8,10.0.0.0/8, or unset it
ceiling-invalid = { $variable } is not a list of networks: { $error }
secs-invalid = `{ $value }` is not a number of seconds
secs-range = { $value } s is out of range: use 0.05 to 300 seconds
toml-read = cannot read { $what ->
    [daemon-config] the daemon configuration
   *[target-file] target file
} { $path }: { $error }
toml-anchors-unreadable = cannot read anchor file { $anchors }: { $error } (paths are relative to the target file; run `stca2-probe lab` once to generate the lab's)

## Why an upload did not empty the spool (crates/daemon/src/why.rs): the
## daemon logs these in English; `check --upload` says them in the reader's
## language. $detail, $error, $message and $body come from a library or the
## back office and stay as they are.

upload-why-stopping = the daemon is stopping
upload-why-spool-unreadable = cannot read the spool: { $error }
upload-why-spool-unremovable = cannot remove uploaded reports from the spool: { $error }
upload-why-cannot-quarantine = cannot quarantine { $name }: { $error }
upload-why-untrusted = the back office's TLS certificate is not trusted ({ $refused }), verified against { $trust ->
    [file] {"["}upload] ca_file { $ca_file }
   *[system] the system's trust store (no {"["}upload] ca_file)
}: if the back office uses a private CA, set {"["}upload] ca_file to that CA's PEM; else check the certificate's name and dates; nothing was sent, the reports stay in the spool
upload-why-transport = the upload { $what ->
    [timeout] timed out
    [connect] could not connect
   *[failed] failed
}: { $detail }
upload-why-unacknowledged = the back office answered { $status } without acknowledging the { $count } reports sent (a captive portal or a proxy?): { $body }; the reports are kept
upload-why-clock-ahead = the back office answered 422 ({ $code }): { $message }; this box's clock seems ahead (check NTP): the reports are kept and sent again
upload-why-answered = the back office answered { $status } ({ $code }): { $message }
upload-why-token-unusable = { $kind ->
    [unreadable] cannot read the token file { $path } ({ $error })
   *[malformed] the token file { $path } is empty or not one token
}; write the token from `stca2-probe token issue` there
upload-why-token-refused = the back office answered { $status } ({ $code }): { $message }; uploads stop until the token file { $path } changes or SIGHUP; the spool is kept
upload-why-still-refused = the back office refused this token; waiting for a new token in { $path } or SIGHUP
upload-untrusted-check = the back office's TLS certificate is not trusted ({ $refused }): if the back office uses a private CA, give its PEM with --upload-ca; else check the certificate's name and dates
upload-why-spool-unwritable = cannot write the report to the spool: { $error }
upload-token-not-one = the file is empty or holds more than one token

## `daemon --check-config`: its summary, after the effective settings.

daemon-check-config-targets = target set "{ $name }": { $sites } { $sites ->
    [one] site
   *[other] sites
} x { $ports } { $ports ->
    [one] port
   *[other] ports
}
daemon-check-config-warning = warning: { $warning }

## The lab's errors a person can act on (crates/lab).

lab-bind = cannot listen on { $addr }: { $kind ->
    [in-use] address in use — is another `stca2-probe lab` (or `demo`) running? Stop it, or give the lab other addresses
    [not-available] address not available — Linux treats all of 127.0.0.0/8 as loopback; on macOS or BSD add it first with `sudo ifconfig lo0 alias { $ip }`
    [permission] permission denied — ports below 1024 need privileges; use ports above 1023
   *[other] the system refused the listening socket
} ({ $error })
lab-write-pki = cannot write the lab certificates to { $dir }: { $error } — choose a writable folder for the lab's PEM files
lab-no-ctrl-c = cannot wait for Ctrl-C
demo-no-scratch = cannot create a scratch folder for the demo

## What is wrong in a target file or the daemon's configuration, said at
## its line and column (engine/src/targets.rs, daemon/src/config.rs).
## $error comes from a library (the toml crate, humantime, url) and stays
## as it is.

toml-syntax = { $error }
target-no-site = no [[site]]: a target set needs at least one site
target-no-port = no [[port]]: a target set needs at least one port
target-name-empty = `name` is empty: give the target set a name
target-site-name-empty = site `name` is empty
target-site-duplicate = duplicate site `{ $site }`: every site needs its own name
target-address-invalid = `{ $address }` is neither an IP address nor a hostname: write e.g. 194.50.38.45 or gateway.example.net
target-address-duplicate = duplicate address `{ $address }`: two sites cannot share one address
target-port-invalid = port { $port } is not a TCP port: use 1 to 65535
target-port-duplicate = duplicate port { $port }
target-ca-unknown = `family = "unknown"` is not a CA family: write "STCA2" or "STCA" (a chain that matches neither is what the probe calls unknown)
target-ca-duplicate = duplicate [[ca]] family { $family }: put every { $family } anchor in one PEM file
target-anchors-invalid = { $path }: { $kind ->
    [none] no certificate found: expected PEM blocks starting with -----BEGIN CERTIFICATE-----
    [pem] bad PEM: { $error }
   *[der] not an X.509 certificate: { $error }
}
config-probe-id = probe_id must be 1 to 200 printable characters, e.g. "shop-0042"
config-duration-invalid = { $key } = { $value } is not a duration ({ $error }); write e.g. "90s", "5m" or "1h 30m"
config-interval-short = interval must be at least 1s
config-jitter-long = jitter ({ $jitter }) must be shorter than interval ({ $interval })
config-timeout-range = timeout must be from 50ms to 300s
config-attempts-range = attempts must be from 1 to 100
config-tls-every-range = tls_every must be from 1 (every cycle a full check) to 10000, e.g. 12 for a full check every hour at interval = "5m"
config-source-invalid = source = { $value } is not an IP address
config-interface-invalid = interface must be a network interface name such as "wwan0" (1 to 15 characters)
config-spool-max-bytes = spool_max_bytes must be at least 65536 (64 KiB)
config-spool-max-age = spool_max_age must be at least one interval
config-metrics-listen-invalid = metrics_listen = { $value } is not an address and port such as "127.0.0.1:9146"
config-url-invalid = url = { $value } is not a URL ({ $error }); write e.g. "https://backoffice.example.net/"
config-url-scheme = url = { $value } must be an http:// or https:// URL with a host
config-url-clear = url = { $value }: http:// would send the token and the reports in clear; use https:// (http:// only to a loopback address)
config-url-credentials = url must not hold credentials or a query: the token goes in token_file
config-url-join = url: { $error }
config-batch-range = batch must be from 1 to { $max } (the back office's limit)
config-upload-timeout-range = {"["}upload] timeout = { $value } must be a duration from 100ms to 10m, e.g. "30s"
config-upload-host-named = {"["}upload] url { $url } names a host, and { $variable } is set: give the back office's IP address (inside { $variable }) or unset the variable; nothing was sent
config-upload-outside = {"["}upload] url { $url }: { $ip } is outside { $variable } ({ $list }); widen the variable or point the url inside it; nothing was sent
# A client for the back office that cannot be built ($error: why, as the
# TLS library or the file system said it).
config-upload-client = {"["}upload] { $error }
config-error = { $error }
# The refused sites (refused-* above with $fix = key, joined by "; "):
# their advice names the configuration's `allow` key.
config-refused-separator = {"; "}
config-refused = { $sites }; nothing was sent
