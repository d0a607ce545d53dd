package guard

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
)

// UDPRcvbufErrors is the count of UDP datagrams the kernel dropped because
// a socket's receive buffer was full, for every socket of the process's
// network namespace (IPv4 from /proc/net/snmp, IPv6 from /proc/net/snmp6);
// 0 where the files cannot be read. A full SIP socket means the process
// cannot keep up: the guard counts these as drops (Probes.SocketOverflows).
func UDPRcvbufErrors() uint64 {
	var n uint64
	if f, err := os.Open("/proc/net/snmp"); err == nil {
		v, _ := snmpValue(f, "Udp:", "RcvbufErrors")
		f.Close()
		n += v
	}
	if f, err := os.Open("/proc/net/snmp6"); err == nil {
		v, _ := snmp6Value(f, "Udp6RcvbufErrors")
		f.Close()
		n += v
	}
	return n
}

// snmpValue reads field of the table named prefix ("Udp:") in the
// /proc/net/snmp layout: a header line of names, then a line of values.
func snmpValue(r io.Reader, prefix, field string) (uint64, bool) {
	sc := bufio.NewScanner(r)
	var names []string
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), prefix)
		if !ok {
			continue
		}
		f := strings.Fields(line)
		if names == nil {
			names = f
			continue
		}
		for i, name := range names {
			if name == field && i < len(f) {
				v, err := strconv.ParseUint(f[i], 10, 64)
				return v, err == nil
			}
		}
		return 0, false
	}
	return 0, false
}

// snmp6Value reads a "Name value" line of /proc/net/snmp6.
func snmp6Value(r io.Reader, name string) (uint64, bool) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == name {
			v, err := strconv.ParseUint(f[1], 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}
