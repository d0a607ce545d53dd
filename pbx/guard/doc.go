// Package guard is hushbox's DoS guard: it decides, before a datagram is
// parsed, whether a source may be heard at all.
//
// It holds, per source address, a token bucket for SIP requests (as
// Kamailio's pike module does), a count of authentication failures that
// leads to bans with exponential backoff (as fail2ban does), and the ban
// itself. Scanner signatures (sipvicious and friends) ban on sight.
// Allow-listed prefixes (the LAN by default, the cloud peer later) are never
// limited or banned. Bans survive a restart in the store, and are mirrored
// into an nftables set when the process may do that, so the kernel drops a
// banned source before hushbox spends a cycle on it.
//
// The kernel side is the table "inet hushbox", programmed over netlink
// (NFTNL, github.com/google/nftables: no nft binary needed, as on the SD
// image) when the kernel has nf_tables, else with the nft binary (NFT);
// both render the one Ruleset, and a test compares what nft lists after
// each. OpenKernel picks and logs the backend ("kernel firewall: netlink",
// "nft" or "off"); Guard.KernelFirewall says which is in force.
//
// With nftables the kernel is the first line against floods too (Ruleset,
// kernel.go): in front of the SIP ports, sources that authenticated and
// the parties of live calls (Guard.Trust, batched) pass, and every other
// source meets a per-source meter and a cap on all untrusted SIP, so a
// flood is dropped before it fills the socket's receive buffer and takes
// the phones' datagrams with it. The kernel's drop counters and the UDP
// sockets' overflows count as drops in the pressure level.
//
// The guard also turns drop rate, work-queue delay and CPU use into a
// pressure level (normal, elevated, high, critical), smoothed and with
// hysteresis, which the web page shows and the hand-off logic acts on.
//
// The per-datagram check (Guard.Check) takes one mutex of one shard and
// allocates nothing for a source it has seen before.
package guard
