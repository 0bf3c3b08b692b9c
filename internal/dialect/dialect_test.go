package dialect

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		raw                 string
		flavor              Flavor
		major, minor, patch int
		binlog, posWait     string
	}{
		{"9.7.4-2", MySQL, 9, 7, 4, "SHOW BINARY LOG STATUS", "SOURCE_POS_WAIT"},
		{"8.0.22-log", MySQL, 8, 0, 22, "SHOW MASTER STATUS", "MASTER_POS_WAIT"},
		{"8.4.3", MySQL, 8, 4, 3, "SHOW BINARY LOG STATUS", "SOURCE_POS_WAIT"},
		{"10.11.18-MariaDB-0+deb12u1-log", MariaDB, 10, 11, 18, "SHOW MASTER STATUS", "MASTER_POS_WAIT"},
		{"5.5.5-11.4.2-MariaDB", MariaDB, 11, 4, 2, "SHOW MASTER STATUS", "MASTER_POS_WAIT"},
		{"12.0.1-mariadb", MariaDB, 12, 0, 1, "SHOW MASTER STATUS", "MASTER_POS_WAIT"},
		{"garbage", MySQL, 0, 0, 0, "SHOW MASTER STATUS", "MASTER_POS_WAIT"},
		{"", MySQL, 0, 0, 0, "SHOW MASTER STATUS", "MASTER_POS_WAIT"},
	} {
		v := Parse(tc.raw)
		assert.Equal(t, tc.flavor, v.Flavor, tc.raw)
		assert.Equal(t, [3]int{tc.major, tc.minor, tc.patch}, [3]int{v.Major, v.Minor, v.Patch}, tc.raw)
		assert.Equal(t, tc.binlog, v.BinlogStatus(), tc.raw)
		assert.Equal(t, tc.posWait, v.PosWait(), tc.raw)
	}
	assert.Equal(t, "SHOW REPLICA STATUS", Parse("10.11.6-MariaDB").ReplicaStatus())
	assert.Equal(t, "SHOW SLAVE STATUS", Parse("10.4.1-MariaDB").ReplicaStatus())
	assert.Equal(t, "SHOW SLAVE STATUS", Parse("8.0.21").ReplicaStatus())
	assert.Equal(t, "mariadb", MariaDB.String())
}
