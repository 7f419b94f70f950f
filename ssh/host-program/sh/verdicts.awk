# pod-routes: what to do with each route, decided by comparing addresses (never text, never protocol names).
# POSIX awk only (Debian's mawk, busybox, the one true awk, gawk): no strtonum, bit functions, gensub or
# arrays of arrays.
#
#   awk [-v adopt=1] [-v exact=1] -f verdicts.awk DESIRED STATE TABLE [RULES]
#
#   DESIRED  the routes this host should have, `<dst> <via> [node]` per line (canonical text from TypeScript)
#   STATE    the routes pod-routes installed before: the state file (`<dst> <via>` lines after a
#            `# pod-routes state 2` header, or the legacy `route replace <dst> via <hop> proto 156` lines);
#            /dev/null when there is none
#   TABLE    `ip -N -4 route show table main; ip -N -6 route show table main` (numeric protocol and type)
#   RULES    `ip -N -4 rule show; ip -N -6 rule show` (optional)
#
# Prints one verdict per line, tab-separated, desired routes first (in their order), then removals (in the
# state file's order):
#   keep <dst> <via>                        ours, as desired
#   add <dst> <via>                         desired, nothing there
#   change <dst> <via> <live via>           ours, another next hop
#   adopt <dst> <via> <route> <removal>     an identical route not in the state file, taken over: with
#                                           adopt=1, or when it has protocol 156 already (a lost state file)
#   remove <dst> <live via>                 ours, no longer desired
#   conflict <dst> <via> <route> <removal>  something not ours in the way (a route or a policy rule)
#   identical <dst> <via> <route> <removal> an identical hand-made route (adopt=0)
#   invalid <text> <file>                   a line that is not a route
# <dst> is the desired (or state) text as given; <route> is the route as ip printed it (type and the
# kernel's fixed protocol and scope numbers named); <removal> is the command that removes it.
#
# A route is pod-routes' own only when it is `<dst> via <address>` of the same family (no nhid, no
# link-local gateway), has protocol 156, and its destination is in the state file (with exact=1, as the
# delete wants: also via the recorded next hop). Any other route whose destination equals or lies inside a
# desired destination is in the way, whatever its type, next hop, metric or protocol (protocol 156 too);
# so is a policy rule whose `to` prefix overlaps a desired destination.
#
#   awk -v mode=hops -f verdicts.awk HOPS ROUTE_GET
#
# The next-hop check: HOPS lists next hops (one per line), ROUTE_GET is what `ip -batch` printed for
# `route get <hop>` of each. Prints `indirect <hop> <gateway>`, `local <hop>` or `unreachable <hop>` for
# each next hop that is not on a directly connected network.
#
#   awk -v mode=expect -f verdicts.awk LINES TABLE
#
# Whether route changes took: LINES are `route add|del <dst> via <hop> … proto <p> …` (what undoes a batch,
# a journal's deletions), TABLE as above. A route is its destination, next hop and protocol (a number, or
# kernel, boot, static); the last line about it says whether it should be there. Prints
# `missing <dst> <hop> <p> <line>` for each that should be there and is not, `left <dst> <hop> <p> <line>`
# for each that should be gone and is not, in the order of the lines.

BEGIN {
	OFS = "\t"
	# The protocol number of pod-routes' routes, from ssh/host-program/render.ts (the caller's -v proto=).
	if (proto !~ /^[0-9]+$/) { print "verdicts.awk: run it with -v proto=<pod-routes' protocol number>" > "/dev/stderr"; exit 2 }
	PROTO = proto + 0
	ZEROS = "0000000000000000000000000000000000000000000000000000000000000000"
	ZEROS = ZEROS ZEROS
	for (i = 0; i < 16; i++) NIB[substr("0123456789abcdef", i + 1, 1)] = bits(i, 4)
	# Route types by name and, as `ip -N` prints them, by number (RTN_UNICAST is 1 … RTN_XRESOLVE 11).
	n = split("unicast local broadcast anycast multicast blackhole unreachable prohibit throw nat xresolve", t, " ")
	for (i = 1; i <= n; i++) { TYPE[t[i]] = t[i]; TYPE[i ""] = t[i] }
	# Names of the protocol and scope numbers the kernel itself fixes, for messages only.
	PNAME["2"] = "kernel"; PNAME["3"] = "boot"; PNAME["4"] = "static"
	SNAME["0"] = "global"; SNAME["200"] = "site"; SNAME["253"] = "link"; SNAME["254"] = "host"
	# Route attributes that take a value, so that a value (a device named "via") is never read as a key.
	n = split("via dev proto metric nhid src scope table expires pref mtu advmss realms realm rtt rttvar " \
		"window cwnd initcwnd initrwnd ssthresh hoplimit congctl features quickack fastopen_no_cookie " \
		"tos dsfield weight from ttl-propagate", t, " ")
	for (i = 1; i <= n; i++) VALUED[t[i]] = 1
	if (mode == "hops") HOPS = 1
	if (mode == "expect") EXPECT = 1
	PNUM["kernel"] = "2"; PNUM["boot"] = "3"; PNUM["static"] = "4"
}

# ---------------------------------------------------------------------------------------------- addresses

function bits(v, n,   s) {
	s = ""
	while (n-- > 0) { s = (v % 2) s; v = int(v / 2) }
	return s
}

function v4bits(a,   n, p, i, s) {
	n = split(a, p, ".")
	if (n != 4) return ""
	s = ""
	for (i = 1; i <= 4; i++) {
		if (p[i] !~ /^[0-9]+$/ || length(p[i]) > 3 || p[i] + 0 > 255) return ""
		s = s bits(p[i] + 0, 8)
	}
	return s
}

# Hextets (and a trailing dotted quad) separated by ":", as bits; "x" when malformed.
function groupbits(s, quad_ok,   n, p, i, out, b, h) {
	if (s == "") return ""
	n = split(s, p, ":")
	out = ""
	for (i = 1; i <= n; i++) {
		if (i == n && quad_ok && p[i] ~ /\./) {
			b = v4bits(p[i])
			if (b == "") return "x"
			out = out b
			continue
		}
		h = p[i]
		if (h !~ /^[0-9a-f]+$/ || length(h) > 4) return "x"
		h = substr("000", 1, 4 - length(h)) h
		out = out NIB[substr(h, 1, 1)] NIB[substr(h, 2, 1)] NIB[substr(h, 3, 1)] NIB[substr(h, 4, 1)]
	}
	return out
}

function v6bits(a,   x, h, t, hb, tb, fill) {
	a = tolower(a)
	if (a !~ /^[0-9a-f:.]+$/) return ""
	x = index(a, "::")
	if (x) {
		h = substr(a, 1, x - 1)
		t = substr(a, x + 2)
		if (index(t, "::") || h ~ /\./) return ""
		hb = groupbits(h, 0)
		tb = groupbits(t, 1)
		if (hb == "x" || tb == "x") return ""
		fill = 128 - length(hb) - length(tb)
		if (fill < 16) return ""
		return hb substr(ZEROS, 1, fill) tb
	}
	hb = groupbits(a, 1)
	if (hb == "x" || length(hb) != 128) return ""
	return hb
}

# An address as a bit string (32 or 128 characters), "" when it is not one.
function addrbits(a) {
	if (index(a, ":")) return v6bits(a)
	return v4bits(a)
}

# The same address, however it is spelled (case, zero compression, embedded dotted quad)?
function sameaddr(a, b,   x) {
	x = addrbits(a)
	return x != "" && x == addrbits(b)
}

# A prefix (`a/len`, or a bare address: a host route) as a key: "4" or "6", then its first len bits.
# Sets KFAM, KLEN and KBITS (all the address's bits); returns "" when it is not a prefix.
function pfxkey(c,   s, a, l, b) {
	s = index(c, "/")
	if (s) { a = substr(c, 1, s - 1); l = substr(c, s + 1) } else { a = c; l = "" }
	b = addrbits(a)
	if (b == "") return ""
	if (l == "") l = length(b)
	if (l !~ /^[0-9]+$/ || l + 0 > length(b)) return ""
	KFAM = length(b) == 32 ? "4" : "6"
	KLEN = l + 0
	KBITS = b
	return KFAM substr(b, 1, KLEN)
}

function linklocal(a,   b) {
	b = addrbits(a)
	return length(b) == 128 && substr(b, 1, 10) == "1111111010"
}

# A desired destination that the prefix in KFAM/KLEN/KBITS equals or lies inside ("" when none).
function inside_desired(   j, L, k) {
	for (j = 1; j <= NLEN[KFAM]; j++) {
		L = LENAT[KFAM, j]
		if (L > KLEN) continue
		k = KFAM substr(KBITS, 1, L)
		if (k in WANTKEY) return WANTKEY[k]
	}
	return ""
}

# ------------------------------------------------------------------------------------------------ input

function normalized(line) {
	gsub(/[ \t]+/, " ", line)
	sub(/^ /, "", line)
	sub(/ $/, "", line)
	return line
}

# A route list line (desired or state) into RDST and RVIA: `<dst> <via> [node]`, or the legacy
# `route replace|add <dst> via <via> [proto 156]`. 0 for blank and comment lines, -1 for anything else.
function routeline(   ) {
	if (NF == 0 || $1 ~ /^#/) return 0
	if (($1 == "route" && ($2 == "replace" || $2 == "add")) && $4 == "via" && NF >= 5) {
		RDST = $3
		RVIA = $5
	} else if (NF >= 2 && $1 != "route") {
		RDST = $1
		RVIA = $2
	} else return -1
	if (pfxkey(RVIA) == "" || KLEN != length(KBITS)) return -1
	return pfxkey(RDST) == "" ? -1 : 1
}

# A route as the expect mode knows it ("" when the line has no such route): destination, next hop, protocol.
function routeid(dst, via, p,   k) {
	k = pfxkey(dst)
	if (k == "" || addrbits(via) == "") return ""
	if (p in PNUM) p = PNUM[p]
	return k SUBSEP addrbits(via) SUBSEP p
}

EXPECT && FILENAME == ARGV[1] {
	if ($1 != "route" || ($2 != "add" && $2 != "del")) next
	via = ""; p = "3"
	for (i = 4; i < NF; i++) {
		if ($i == "via") via = $(i + 1)
		else if ($i == "proto") p = $(i + 1)
		if ($i in VALUED) i++
	}
	e = routeid($3, via, p)
	if (e == "") next
	if (!(e in EWANT)) EORDER[++NE] = e
	EWANT[e] = $2 == "add"
	ETEXT[e] = $3 OFS via OFS p OFS normalized($0)
	next
}
EXPECT && /^[ \t]/ { next }
EXPECT {
	s = 1
	if ($1 in TYPE) { if (TYPE[$1] != "unicast") next; s = 2 }
	via = ""; p = "3"
	for (i = s + 1; i < NF; i++) {
		if ($i == "via") { if ($(i + 1) == "inet" || $(i + 1) == "inet6") next; via = $(i + 1) }
		else if ($i == "proto") p = $(i + 1)
		if ($i in VALUED) i++
	}
	e = routeid($s, via, p)
	if (e in EWANT) EHAVE[e] = 1
	next
}

HOPS && FILENAME == ARGV[1] {
	if (NF == 0) next
	if (addrbits($1) != "" && !(addrbits($1) in HOPKEY)) { HOPKEY[addrbits($1)] = $1; HOPORDER[++NHOP] = $1 }
	next
}
HOPS && /^[ \t]/ { next }
HOPS {
	ty = ""
	a = $1
	if ($1 in TYPE) { ty = TYPE[$1]; a = $2 }
	k = addrbits(a)
	if (!(k in HOPKEY) || (k in HOPSEEN)) next
	HOPSEEN[k] = 1
	h = HOPKEY[k]
	if (ty == "local") HOPBAD[h] = "local" OFS h
	else if (ty != "" && ty != "unicast") HOPBAD[h] = "unreachable" OFS h
	else for (i = 2; i < NF; i++) if ($i == "via") { HOPBAD[h] = "indirect" OFS h OFS $(i + 1); break }
	next
}

FILENAME == ARGV[1] {
	r = routeline()
	if (r < 0) { print "invalid", normalized($0), "desired"; next }
	if (r == 0) next
	k = KFAM substr(KBITS, 1, KLEN)
	if (k in WANTKEY) next
	WANTKEY[k] = RDST
	WANTVIA[RDST] = RVIA
	WANTK[RDST] = k
	WANTFAM[RDST] = KFAM
	WANTLEN[RDST] = KLEN
	WANTBITS[RDST] = KBITS
	ORDER[++NWANT] = RDST
	if (!((KFAM, KLEN) in HASLEN)) { HASLEN[KFAM, KLEN] = 1; LENAT[KFAM, ++NLEN[KFAM]] = KLEN }
	next
}

FILENAME == ARGV[2] {
	r = routeline()
	if (r < 0) { print "invalid", normalized($0), "state"; next }
	if (r == 0) next
	k = KFAM substr(KBITS, 1, KLEN)
	if (k in STATEKEY) next
	STATEKEY[k] = RDST
	STATEVIA[k] = RVIA
	STATEORDER[++NSTATE] = k
	next
}

# The routing table. Continuation lines (the next hops of a multipath route) belong to the line above,
# which has no `via` of its own and so is never ours.
FILENAME == ARGV[3] && /^[ \t]/ { next }
FILENAME == ARGV[3] {
	if (NF == 0) next
	s = 1
	ty = "unicast"
	if ($1 in TYPE) { ty = TYPE[$1]; s = 2 }
	dst = $s
	if (dst == "default") next
	via = ""; viafam = ""; dev = ""; p = ""; metric = ""; nhid = ""
	for (i = s + 1; i <= NF; i++) {
		if ($i == "via") {
			if ($(i + 1) == "inet" || $(i + 1) == "inet6") { viafam = $(i + 1); i++ }
			via = $(i + 1); i++
		} else if ($i == "dev") { dev = $(i + 1); i++ }
		else if ($i == "proto") { p = $(i + 1); i++ }
		else if ($i == "metric") { metric = $(i + 1); i++ }
		else if ($i == "nhid") { nhid = $(i + 1); i++ }
		else if ($i in VALUED) i++
	}
	k = pfxkey(dst)
	if (k == "") next
	if (p == PROTO && ty == "unicast" && via != "" && viafam == "" && nhid == "" && (k in STATEKEY) &&
		!(k in OURS) && pfxkey(via) != "" && KLEN == length(KBITS) && KFAM == substr(k, 1, 1) &&
		!linklocal(via) && (!exact || sameaddr(via, STATEVIA[k]))) {
		OURS[k] = via
		next
	}
	pfxkey(dst)
	d = inside_desired()
	if (d == "") next
	line = normalized($0)
	if (s == 2) line = ty substr(line, length($1) + 1)
	if (p == "") line = line " proto boot"
	else if (p in PNAME) sub(" proto " p "( |$)", " proto " PNAME[p] " ", line)
	for (x in SNAME) sub(" scope " x "( |$)", " scope " SNAME[x] " ", line)
	line = normalized(line)
	hint = "ip route del " (ty != "unicast" ? ty " " : "") dst
	if (nhid != "") hint = hint " nhid " nhid
	else if (via != "") hint = hint " via " (viafam != "" ? viafam " " : "") via
	else if (dev != "") hint = hint " dev " dev
	if (metric != "") hint = hint " metric " metric
	j = ++NFOREIGN[d]
	FLINE[d, j] = line
	FHINT[d, j] = hint
	FSAME[d, j] = ty == "unicast" && nhid == "" && viafam == "" && via != "" && sameaddr(via, WANTVIA[d]) &&
		KLEN == WANTLEN[d] && (metric == "" || (KFAM == "6" && metric == "1024"))
	FOURPROTO[d, j] = p == PROTO
	next
}

# Policy rules: `<priority>:<tab>[not] from <sel> [to <prefix>] … lookup <table>`.
FILENAME == ARGV[4] {
	if (NF == 0 || $2 == "not") next
	to = ""; table = ""; suppress = 0
	for (i = 2; i < NF; i++) {
		if ($i == "to") to = $(i + 1)
		else if ($i == "lookup" || $i == "table") table = $(i + 1)
		else if ($i ~ /^suppress_/) suppress = 1
	}
	if (to == "" || to == "all") next
	# A rule that only sends the traffic to the main table, where the routes are, is harmless.
	if ((table == "254" || table == "main") && !suppress) next
	k = pfxkey(to)
	if (k == "") next
	prio = $1
	sub(/:$/, "", prio)
	line = normalized($0)
	hint = "ip " (KFAM == "6" ? "-6 " : "") "rule del priority " prio " to " to
	rfam = KFAM; rlen = KLEN; rbits = KBITS
	for (j = 1; j <= NWANT; j++) {
		d = ORDER[j]
		if (WANTFAM[d] != rfam) continue
		# The rule's prefix holds the desired one, or lies inside it.
		if ((rlen <= WANTLEN[d] && substr(WANTBITS[d], 1, rlen) == substr(rbits, 1, rlen)) ||
			(WANTLEN[d] <= rlen && substr(WANTBITS[d], 1, WANTLEN[d]) == substr(rbits, 1, WANTLEN[d]))) {
			r = ++NRULE[d]
			RLINE[d, r] = line
			RHINT[d, r] = hint
		}
	}
	next
}

END {
	if (EXPECT) {
		for (j = 1; j <= NE; j++) {
			e = EORDER[j]
			if (EWANT[e] && !(e in EHAVE)) print "missing", ETEXT[e]
			else if (!EWANT[e] && (e in EHAVE)) print "left", ETEXT[e]
		}
		exit
	}
	if (HOPS) {
		for (j = 1; j <= NHOP; j++) {
			h = HOPORDER[j]
			if (!(addrbits(h) in HOPSEEN)) print "unreachable", h
			else if (h in HOPBAD) print HOPBAD[h]
		}
		exit
	}
	for (j = 1; j <= NWANT; j++) {
		d = ORDER[j]
		k = WANTK[d]
		# Identical and already carrying pod-routes' protocol (the state file was lost): taking it is a no-op.
		if (NFOREIGN[d] == 1 && FSAME[d, 1]) print (adopt == 1 || FOURPROTO[d, 1] ? "adopt" : "identical"), d, WANTVIA[d], FLINE[d, 1], FHINT[d, 1]
		else for (i = 1; i <= NFOREIGN[d]; i++) print "conflict", d, WANTVIA[d], FLINE[d, i], FHINT[d, i]
		for (i = 1; i <= NRULE[d]; i++) print "conflict", d, WANTVIA[d], RLINE[d, i], RHINT[d, i]
		if (NFOREIGN[d] + NRULE[d] > 0) continue
		if (!(k in OURS)) print "add", d, WANTVIA[d]
		else if (sameaddr(OURS[k], WANTVIA[d])) print "keep", d, WANTVIA[d]
		else print "change", d, WANTVIA[d], OURS[k]
	}
	for (j = 1; j <= NSTATE; j++) {
		k = STATEORDER[j]
		if ((k in OURS) && !(k in WANTKEY)) print "remove", STATEKEY[k], OURS[k]
	}
}
