package rwsplittest

import (
	"os"
	"strings"
)

// DefaultMariaDB118Image is the local MariaDB 11.8 image, built from Debian
// trixie's mariadb-server by `make images` (scripts/build-images.sh
// mariadb118). It is not the MariaDB flavor's default (DefaultMariaDBImage);
// a test runs a MariaDB cluster on it with
//
//	rwsplittest.Start(t, rwsplittest.MariaDB, rwsplittest.WithImage(rwsplittest.MariaDB118Image()))
const DefaultMariaDB118Image = "rwsplit/mariadb:11.8"

// EnvMariaDB118Image names the environment variable that selects another
// MariaDB 11.8 image for MariaDB118Image, such as the official "mariadb:11.8"
// where a registry is reachable.
const EnvMariaDB118Image = "RWSPLIT_MARIADB118_IMAGE"

// MariaDB118Image is the MariaDB 11.8 image the kit runs when a test asks for
// that version: the value of RWSPLIT_MARIADB118_IMAGE when set, else
// DefaultMariaDB118Image. Run it with the MariaDB flavor.
func MariaDB118Image() string {
	if v := strings.TrimSpace(os.Getenv(EnvMariaDB118Image)); v != "" {
		return v
	}
	return DefaultMariaDB118Image
}
