// Package dialect knows how MySQL and MariaDB differ: how to tell them apart
// from VERSION(), and which statement each version uses for the same job.
package dialect

import (
	"strconv"
	"strings"
)

// Flavor is a server family.
type Flavor uint8

// Server families.
const (
	Unknown Flavor = iota
	MySQL
	MariaDB
)

// String returns "mysql", "mariadb" or "unknown".
func (f Flavor) String() string {
	switch f {
	case MySQL:
		return "mysql"
	case MariaDB:
		return "mariadb"
	}
	return "unknown"
}

// Version is a server's flavor and version, parsed from VERSION().
type Version struct {
	Flavor              Flavor
	Major, Minor, Patch int
	Raw                 string
}

// Parse reads a VERSION() string such as "9.7.4-2", "8.0.36-log" or
// "10.11.18-MariaDB-0+deb12u1-log". MariaDB is recognised by the word
// "MariaDB", never by its major version; the "5.5.5-" prefix some MariaDB
// servers put in the handshake is skipped. Parse never fails: what it cannot
// read stays zero.
func Parse(raw string) Version {
	v := Version{Raw: raw, Flavor: MySQL}
	s := raw
	if strings.Contains(strings.ToLower(s), "mariadb") {
		v.Flavor = MariaDB
		s = strings.TrimPrefix(s, "5.5.5-")
	}
	nums := [3]*int{&v.Major, &v.Minor, &v.Patch}
	for i := range nums {
		j := 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == 0 {
			break
		}
		*nums[i], _ = strconv.Atoi(s[:j])
		s = s[j:]
		if len(s) == 0 || s[0] != '.' {
			break
		}
		s = s[1:]
	}
	return v
}

// AtLeast reports whether v is major.minor.patch or later.
func (v Version) AtLeast(major, minor, patch int) bool {
	if v.Major != major {
		return v.Major > major
	}
	if v.Minor != minor {
		return v.Minor > minor
	}
	return v.Patch >= patch
}

// BinlogStatus is the statement that shows the server's current binary log
// file and position: SHOW MASTER STATUS was removed in MySQL 8.4.
func (v Version) BinlogStatus() string {
	switch {
	case v.Flavor == MariaDB:
		return "SHOW MASTER STATUS"
	case v.AtLeast(8, 2, 0):
		return "SHOW BINARY LOG STATUS"
	}
	return "SHOW MASTER STATUS"
}

// ReplicaStatus is the statement that shows a replica's replication state.
func (v Version) ReplicaStatus() string {
	if v.Flavor == MySQL && !v.AtLeast(8, 0, 22) {
		return "SHOW SLAVE STATUS"
	}
	if v.Flavor == MariaDB && !v.AtLeast(10, 5, 1) {
		return "SHOW SLAVE STATUS"
	}
	return "SHOW REPLICA STATUS"
}

// PosWait is the function that waits for a binlog file:position, called as
// FUNC(file, pos, timeout_seconds).
func (v Version) PosWait() string {
	if v.Flavor == MySQL && v.AtLeast(8, 0, 26) {
		return "SOURCE_POS_WAIT"
	}
	return "MASTER_POS_WAIT"
}
