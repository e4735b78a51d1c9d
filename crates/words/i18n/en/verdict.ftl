# The verdict's sentences: the headline, the failover recommendation and
# every finding, rendered from the report's typed facts (stca2_words::Words).
# The English messages are the report's `message` fields (the machine
# contract): change one and the stored reports' tests say so.
#
# Variables that hold lists ($targets, $sites...) are already joined with
# list-comma / list-and; $count is how many items the list has, for plurals.

## Lists: "a", "a and b", "a, b and c" (folded from the left).

list-comma = { $head }, { $item }
list-and = { $head } and { $item }

## Shared words.

-dns-advice = Check the shop's DNS settings, or use the gateway's IP address.
-exempt = Ask the merchant or the ISP to exempt the gateway addresses from TLS inspection.
-nothing-known = this says nothing about the merchant's router

# "site 2 (bordeaux)".
site-label = site { $number } ({ $name })
# "site 2, bordeaux".
site-comma = site { $number }, { $name }
# Every site of the set, not at the start of a sentence.
every-site = { $count ->
    [2] both sites
   *[other] all { $count } sites
}
# An endpoint in a sentence: "127.0.38.45:1146" ($host is bracketed when it
# is an IPv6 address).
endpoint = { $host }:{ $port }
# A target as a finding names it: "127.0.38.45:1146 (site 1, toulouse, stca2 port)".
target-at = { $host }:{ $port } (site { $number }, { $site }, { $service } port)
# Who issued an intercepted chain when its signatures do not verify.
issuer-forged = { $issuer }, a forged { $family } chain whose signatures do not verify
unknown-issuer = an unknown issuer
# " (detail)" after a reason; the leading space is part of it.
detail-aside = {" "}({ $detail })
# A TLS result's class, as the failover message names it.
tls-class = { $class ->
    [none] no TLS result
   *[other] { $class }
}
# A DNS answer's status.
dns-status = { $status ->
   *[other] { $status }
}

## The headline.

headline-nothing-checked = Nothing was checked: the target set has no site or no port.
headline-ready = Ready for STCA2: { $sites } { $count ->
    [one] answers
   *[other] answer
} on { $portcount ->
   *[other] { $ports }
} with an STCA2 certificate.
headline-ready-expiring = { headline-ready } Its certificate on { $endpoint } expires in { $days ->
    [one] { $days } day
   *[other] { $days } days
}: tell the gateway operator.
headline-primary-unresolved = Port STCA2 non ouvert: { $address } (site { $number }, { $site }) could not be resolved. { -dns-advice }
headline-primary-closed = Port STCA2 non ouvert: { $router ->
    [yes] the router blocks { $closed } ({ $label })
   *[no] { $closed } ({ $label }) could not be reached
}. Open outbound TCP to { $open } on the merchant's router.
headline-interception = Suspected TLS interception: a middlebox on the merchant's network answers for { $endpoints } with a certificate issued by { $issuers }. { -exempt }
headline-unresolved = Not ready: { $addresses } could not be resolved. { -dns-advice }
headline-blocked = Not ready: the router blocks { $blocked }. Open outbound TCP to { $count ->
    [one] it
   *[other] them
} on the merchant's router.
headline-blocked-tls-failing = { headline-blocked } TCP opens but TLS does not complete on { $failing } (see the findings).
headline-not-measured = Not measured: { $targets } could not be tested from this probe, so nothing is known yet about the merchant's router for { $count ->
    [one] it
   *[other] them
}. Fix the probe's setup as the findings say, then check again.
headline-old-ca = Not ready for STCA2: { $targets } still { $count ->
    [one] presents
   *[other] present
} the old STCA chain.
headline-tls-failing = Not ready: TCP opens but TLS does not complete on { $targets } (see the findings).
# A daemon's TCP-only cycle (tls_every, metered links): every port opens, TLS not looked at.
headline-tls-not-checked = TCP opens on every port. TLS was not checked on { $targets } in this cycle (a TCP-only check on a metered link): the last full check tells whether the gateways present STCA2.
headline-expired = Not ready: the { $count ->
    [one] certificate presented on { $targets } has
   *[other] certificates presented on { $targets } have
} expired; tell the gateway operator.
headline-anchors-missing = Every site answers TLS, but the CA family cannot be told: the target set's STCA2 and STCA anchor files are missing. Add them and check again.
headline-not-stca2 = Not ready for STCA2: { $targets } { $count ->
    [one] does
   *[other] do
} not answer with an STCA2 certificate (see the findings).

## The failover recommendation.

# One site to configure: "site 2 (bordeaux, 127.0.38.173 port 1146)".
failover-configure-site = site { $number } ({ $name }, { $address } { $count ->
    [one] port
   *[other] ports
} { $ports })
failover-configure = configure { $sites } as the terminal's failover gateway
failover-why-intercepted = a middlebox on the merchant's network intercepts TLS to { $endpoints } (certificate issued by { $issuers })
failover-why-failing = the TLS handshake does not complete on { $targets }
failover-failing-target = { $endpoint } ({ $class })
failover-why-both = { $intercepted }; { $failing }
failover-no-secondary = The target set has no secondary site: there is no failover gateway to configure.
failover-no-primary = The target set has no primary site: failover cannot be judged.
failover-unmeasured = Failover cannot be judged yet: { $sites } { $count ->
    [one] was
   *[other] were
} not measured (see the not_measured findings). Fix that on the probe side and check again.
failover-tls-not-checked = Failover is judged on full checks: TLS was not checked on { $sites } in this TCP-only cycle, so the last full check's recommendation stands.
failover-all-answer = { $count ->
    [2] Both sites
   *[other] All { $count } sites
} answer: { $configure }.
# $secondaries starts the sentence (its first letter is a capital).
failover-primary-broken = { $secondaries } answers, but on { $primaries } { $why }: { $configure }, and fix { $primaries } as the findings say.
# $primaries starts the sentence.
failover-secondary-blocked = { $primaries } answers, but the merchant's router blocks { $secondaries }: open outbound TCP to { $closed } on the router, then { $configure }.
failover-primary-blocked = The merchant's router blocks { $primaries }: open outbound TCP to { $closed } on the router. Meanwhile { $secondaries } answers: { $configure }.
# $secondaries starts a sentence.
failover-primary-blocked-secondary-broken = The merchant's router blocks { $primaries }: open outbound TCP to { $closed } on the router. { $secondaries } is no failover yet: { $why }.
failover-all-blocked = The merchant's router blocks { $sites }: open outbound TCP to { $closed } on the router, then { $configure }.
# $primaries starts the sentence.
failover-secondary-broken = { $primaries } answers. Do not configure { $secondaries } as failover yet: { $why }. Opening ports will not help; fix that first.
failover-primary-broken-secondary-blocked = Failover does not help yet: on { $primaries }, { $why }, which is not a blocked port. Fix that first; the router also blocks { $secondaries } at { $closed }.
failover-all-broken = Failover does not help: { $sites } accept TCP but { $why }. This is not a blocked port; see the findings.
failover-all-broken-interception = Failover does not help: { $sites } accept TCP but { $why }. Fix the interception (exempt { $addresses } from TLS inspection) rather than opening ports or configuring site 2.

## The findings, one message (or a few) per code.

finding-not-measured = { $at } was not measured: { $why }
finding-not-measured-dns-refused-nothing = refused by the allow-list: { $detail }. Nothing was sent; { -nothing-known }.
finding-not-measured-dns-refused = refused by the allow-list: the name { $address } resolved to { $ips }, outside the allow-list, so nothing was sent to it ({ $detail }). Pass --allow with the gateway's network if that address is right; { -nothing-known }.
finding-not-measured-allow-list = the probe refused to contact it ({ $detail }). Fix the allow-list on the probe side (--allow, the target file's `allow`, or { $ceiling }); { -nothing-known }.
finding-not-measured-local = the connection could not be made from this machine ({ $detail }). Fix the probe's setup (--source, --interface, or this machine's network configuration) and check again; { -nothing-known }.
finding-dns-failed = { $address } could not be resolved ({ dns-status }): { -dns-advice-lower }
finding-dns-failed-detail = { $address } could not be resolved ({ dns-status }: { $detail }): { -dns-advice-lower }
-dns-advice-lower = check the shop's DNS settings, or use the gateway's IP address.
finding-port-closed = { $at } does not open at TCP: { $why }. Open outbound TCP to { $endpoint } on the merchant's router.
finding-port-closed-timeout = no answer to the connection request: a router or firewall on the way silently drops it, typically the merchant's box blocking the port
finding-port-closed-refused = the connection was refused with a TCP reset: a router or firewall rejects it, or nothing listens at that address and port
finding-port-closed-unreachable = an ICMP unreachable message came back{ $aside }: a router on the way refuses the destination (administratively prohibited) or has no route to it
finding-port-closed-error = the connection could not be made{ $aside }
finding-tls-failed = { $at }: { $why }.
finding-tls-failed-no-result = { $at } opens at TCP but no TLS result was recorded.
finding-tls-failed-client-auth = the server asked for a client certificate{ $aside }, which the gateway does only on the declaration port
finding-tls-failed-alert = the server or a middlebox sent the TLS alert { $alert }{ $aside }
finding-tls-failed-unnamed-alert = (unnamed)
finding-tls-failed-reset = the connection was reset during the handshake; a reset right after the ClientHello often means a filtering middlebox on the merchant's network
finding-tls-failed-eof = the connection was closed during the handshake: something accepts TCP there but does not speak TLS to the probe (a proxy or a filter)
finding-tls-failed-timeout = TCP opens but the TLS handshake never got an answer within the timeout: a silent middlebox, a service that is not running, or a path-MTU black hole (a link with a smaller MTU, such as PPPoE or a VPN, whose ICMP "fragmentation needed" messages are blocked, so the server's certificate never arrives; try lowering the router's MTU or enabling MSS clamping)
# Never a finding (a TCP-only check has none); said plainly should a reader ask.
finding-tls-failed-not-attempted = no TLS handshake was tried in this TCP-only check{ $aside }
finding-tls-failed-error = the TLS handshake failed{ $aside }
finding-client-auth = { $at } asked for a client certificate, as a real gateway does on the declaration port; the terminal presents its own.{ $accepted }
# After finding-client-auth when the server named the CAs it accepts; the leading space is part of it.
finding-client-auth-cas = {" "}Accepted CAs: { $cas }.
finding-old-ca = { $at } presents the old STCA chain (issued by { $issuer }): the gateway, or a proxy in front of it, is not on STCA2 yet. Terminals migrated to STCA2 will refuse it.
finding-old-ca-issuer = the STCA authority
finding-interception = { $at }: suspected TLS interception by a middlebox on the merchant's network; the certificate was issued by { $issuer }. { -exempt }
finding-interception-forged = { $at }: the chain claims to be { $family } but its signatures do not verify — a forged chain, suspected interception by a middlebox on the merchant's network. { -exempt }
finding-leaf = the leaf certificate
finding-expired = { $at } presents an expired certificate ({ $subject }, expired { $days ->
    [one] { $days } day
   *[other] { $days } days
} ago): terminals will refuse it; tell the gateway operator.
finding-expiring = The STCA2 chain on { $at } expires in { $days ->
    [one] { $days } day
   *[other] { $days } days
} ({ $subject }): tell the gateway operator before it does.
finding-anchors-missing = The STCA2 and STCA anchor files of the target set are missing, so the CA family of a certificate cannot be told (this is not a sign of interception). Reachability is still checked; add the anchor files and run the check again.

## Where the path stops, and path-MTU black holes (issue 10: the
## `path_stop` and `path_mtu` findings, `check --trace`, `stca2-probe trace`).

# The hop a TCP traceroute names: "hop 2 (10.1.2.2)", "hop 2", "10.1.2.2".
path-hop = hop { $hop } ({ $address })
path-hop-ttl = hop { $hop }
path-hop-address = { $address }
path-hop-unnamed = an unnamed hop
# How the path stops at that hop, after "it".
path-how-unreachable = refuses it with an ICMP error
path-how-reset = rejects it with a TCP reset in the gateway's name
path-how-silent = forwards nothing further (the packets are silently dropped there)
# $what names the target ("10.1.3.45:1146 (site 1, lyon, stca2 port)" or
# just the endpoint for `stca2-probe trace`), $endpoint is an endpoint, $hop a path-hop.
finding-path-stop-box = The path to { $what } stops at the merchant's box, { $hop }, the shop's first hop: it { $how }. Open outbound TCP to { $endpoint } on the box; the ISP is not involved.
finding-path-stop-beyond-box = The path to { $what } crosses the merchant's box and stops after it, at { $hop }, at the ISP or beyond: it { $how }. The box is not the one blocking; open a ticket with the ISP for outbound TCP to { $endpoint }, naming the last answering hop, { $hop }.
finding-path-stop-destination = The path to { $what } reaches the gateway ({ $hop }) and the gateway itself refuses the port with a TCP reset: neither the box nor the ISP blocks it. Call the gateway operator.
finding-path-stop-unknown = No hop answered on the path to { $what }, not even the merchant's box: the box may drop the probe's expired packets too. Check the box's firewall for outbound TCP to { $endpoint } first.
finding-path-mtu = { $at } opens at TCP but the TLS handshake stalls with full-size packets and completes with a TCP MSS of { $mss }: a path-MTU black hole (large packets are dropped and the ICMP "fragmentation needed" that should say so never arrives). On the merchant's box, enable MSS clamping (to { $mss } or the path MTU), or lower the WAN MTU, or let ICMP "fragmentation needed" through.
finding-path-mtu-silent = { $at } opens at TCP but the TLS handshake stalls, and a smaller TCP MSS does not help either: this is not a path-MTU problem; the service (or a middlebox) accepts the connection and never answers. Call the gateway operator with this report.
# `stca2-probe trace`.
trace-header = TCP trace to { $target }, { $probes } SYNs per hop
trace-default-gateway = { $address } (default gateway)
trace-open = The path to { $endpoint } is open end to end: the port answered at hop { $ttl }.
trace-refusing = refusing { $target }: { $why }
trace-nothing-sent = nothing was sent to { $target }
trace-cannot-run = the trace could not run from this machine: { $error }
