package main

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// ntpEpochOffset is the seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix).
const ntpEpochOffset = 2208988800

// sntpPacket is an SNTPv4 (RFC 4330) message: 48 bytes.
const sntpPacket = 48

// defaultNTP is used when DHCP named no server (/run/ntp-servers).
const defaultNTP = "pool.ntp.org"

func sntpCommand(args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("sntp", flag.ContinueOnError)
	loop := fs.Duration("loop", 0, "query again every DURATION (0: once)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for {
		servers := fs.Args()
		if len(servers) == 0 {
			servers = dhcpServers()
		}
		if err := syncClock(servers, log); err != nil {
			log.Warn("clock not set", "err", err)
			if *loop == 0 {
				return err
			}
		}
		if *loop == 0 {
			return nil
		}
		time.Sleep(*loop)
	}
}

// dhcpServers reads the NTP servers the DHCP lease named (written by
// /etc/udhcpc.script), else the public pool.
func dhcpServers() []string {
	b, err := os.ReadFile("/run/ntp-servers")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f
	}
	return []string{defaultNTP}
}

// syncClock asks each server in turn and steps the clock on the first good
// answer.
func syncClock(servers []string, log *slog.Logger) error {
	var errs []error
	for _, s := range servers {
		off, err := query(net.JoinHostPort(s, "123"), 5*time.Second)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if off > -time.Second && off < time.Second {
			log.Info("clock in step", "server", s, "offset", off)
			return nil
		}
		tv := syscall.NsecToTimeval(time.Now().Add(off).UnixNano())
		if err := syscall.Settimeofday(&tv); err != nil {
			return fmt.Errorf("sntp: set clock: %w", err)
		}
		log.Info("clock set", "server", s, "offset", off, "now", time.Now().UTC().Format(time.RFC3339))
		return nil
	}
	return errors.Join(errs...)
}

// query asks one server and returns the local clock's offset (add it to
// time.Now to get the server's time).
func query(addr string, timeout time.Duration) (time.Duration, error) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return 0, fmt.Errorf("sntp %s: %w", addr, err)
	}
	defer c.Close()
	req := make([]byte, sntpPacket)
	req[0] = 0<<6 | 4<<3 | 3 // LI 0, version 4, mode 3 (client)
	// The transmit timestamp is random (RFC 4330 allows it): the answer must
	// echo it as its origin timestamp, so an off-path forger must guess 64 bits.
	if _, err := rand.Read(req[40:48]); err != nil {
		return 0, err
	}
	c.SetDeadline(time.Now().Add(timeout))
	t1 := time.Now()
	if _, err := c.Write(req); err != nil {
		return 0, fmt.Errorf("sntp %s: %w", addr, err)
	}
	resp := make([]byte, 512)
	n, err := c.Read(resp)
	t4 := time.Now()
	if err != nil {
		return 0, fmt.Errorf("sntp %s: %w", addr, err)
	}
	t2, t3, err := parseReply(resp[:n], req[40:48])
	if err != nil {
		return 0, fmt.Errorf("sntp %s: %w", addr, err)
	}
	// Offset per RFC 4330: ((T2 - T1) + (T3 - T4)) / 2.
	return (t2.Sub(t1) + t3.Sub(t4)) / 2, nil
}

// parseReply checks an SNTP server reply against the request's transmit
// timestamp and returns the server's receive (T2) and transmit (T3) times.
func parseReply(b, origin []byte) (t2, t3 time.Time, err error) {
	if len(b) < sntpPacket {
		return t2, t3, fmt.Errorf("reply of %d bytes", len(b))
	}
	if mode := b[0] & 7; mode != 4 {
		return t2, t3, fmt.Errorf("reply mode %d, want 4 (server)", mode)
	}
	if li := b[0] >> 6; li == 3 {
		return t2, t3, errors.New("server clock not synchronised (leap indicator 3)")
	}
	if stratum := b[1]; stratum == 0 || stratum > 15 {
		return t2, t3, fmt.Errorf("stratum %d (kiss-o'-death or unsynchronised)", stratum)
	}
	if string(b[24:32]) != string(origin) {
		return t2, t3, errors.New("origin timestamp does not match our request")
	}
	t2, t3 = ntpTime(b[32:40]), ntpTime(b[40:48])
	if t3.IsZero() || t3.Before(t2) {
		return t2, t3, errors.New("bad server timestamps")
	}
	return t2, t3, nil
}

// ntpTime converts a 64-bit NTP timestamp (era 0, or era 1 after 2036).
func ntpTime(b []byte) time.Time {
	sec := uint64(binary.BigEndian.Uint32(b[0:4]))
	frac := uint64(binary.BigEndian.Uint32(b[4:8]))
	if sec == 0 && frac == 0 {
		return time.Time{}
	}
	if sec < 1<<31 { // era 1 (2036-02-07 onwards): the top bit wrapped
		sec += 1 << 32
	}
	return time.Unix(int64(sec-ntpEpochOffset), int64(frac*1e9>>32)).UTC()
}

// ntpStamp is the inverse of ntpTime (for tests and fake servers).
func ntpStamp(t time.Time) []byte {
	b := make([]byte, 8)
	sec := uint64(t.Unix()+ntpEpochOffset) & (1<<32 - 1)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	binary.BigEndian.PutUint32(b[0:4], uint32(sec))
	binary.BigEndian.PutUint32(b[4:8], uint32(frac))
	return b
}
