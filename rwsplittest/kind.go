package rwsplittest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go"
)

// Kind is the replication topology a Cluster runs.
type Kind string

// The cluster kinds the kit builds.
const (
	// Async is a primary and its replicas replicating asynchronously (or
	// semi-synchronously, WithSemiSync) by GTID: StartCluster's default,
	// on both flavors. Nodes are named "primary", "replica1", ...
	Async Kind = "async"
	// GroupReplication is MySQL Group Replication (the engine of InnoDB
	// Cluster), single-primary unless WithMultiPrimary: 1+WithReplicas
	// members (3 by default) named "gr0", "gr1", ..., every one certifying
	// every transaction, which carries the group's uuid (Cluster.GroupName).
	// MySQL flavor only.
	GroupReplication Kind = "group-replication"
	// Galera is MariaDB Galera Cluster: 1+WithReplicas nodes (3 by default)
	// named "galera0", "galera1", ..., every one writable, with wsrep GTIDs
	// in domain GaleraDomainID. MariaDB flavor only.
	Galera Kind = "galera"
)

// GaleraDomainID is the GTID domain of a Galera cluster's transactions
// (wsrep_gtid_domain_id and gtid_domain_id on every node).
const GaleraDomainID = 9

// GaleraServerID is the @@server_id of every node of a Galera cluster. With
// wsrep_gtid_mode the nodes must share it (MariaDB's "Using MariaDB GTIDs
// with MariaDB Galera Cluster"; a joiner with another server_id logs a
// warning, MDEV-26223), so that a write set carries the same
// domain-server_id-seqno GTID on every node.
const GaleraServerID = 1

// WithKind makes StartCluster build a cluster of kind k (default Async).
// GroupReplication needs the MySQL flavor, Galera the MariaDB flavor; neither
// takes WithCascadedReplicas or WithSemiSync. WithReplicas(n) gives n+1
// members.
func WithKind(k Kind) Option { return func(c *config) { c.kind = k } }

// WithMultiPrimary makes a GroupReplication cluster multi-primary
// (group_replication_single_primary_mode=OFF with
// group_replication_enforce_update_everywhere_checks=ON): every ONLINE member
// is writable. Cluster.Primary is then gr0, the member tests write to.
func WithMultiPrimary() Option { return func(c *config) { c.multiPrimary = true } }

func (k Kind) valid(f Flavor, cfg config) error {
	switch k {
	case Async:
		if cfg.multiPrimary {
			return errors.New("rwsplittest: WithMultiPrimary needs WithKind(GroupReplication)")
		}
		return nil
	case GroupReplication, Galera:
	default:
		return fmt.Errorf("rwsplittest: unknown kind %q (want %q, %q or %q)", string(k), Async, GroupReplication, Galera)
	}
	switch {
	case k == GroupReplication && f != MySQL:
		return fmt.Errorf("rwsplittest: WithKind(%s) needs the %s flavor, not %s", k, MySQL, f)
	case k == Galera && f != MariaDB:
		return fmt.Errorf("rwsplittest: WithKind(%s) needs the %s flavor, not %s", k, MariaDB, f)
	case k == Galera && cfg.multiPrimary:
		return errors.New("rwsplittest: WithMultiPrimary needs WithKind(GroupReplication) (every Galera node is writable anyway)")
	case cfg.cascaded > 0 || cfg.semiSync > 0:
		return fmt.Errorf("rwsplittest: WithKind(%s) takes neither WithCascadedReplicas nor WithSemiSync", k)
	}
	return nil
}

// memberName names member i of a GroupReplication or Galera cluster.
func (k Kind) memberName(i int) string {
	if k == Galera {
		return fmt.Sprintf("galera%d", i)
	}
	return fmt.Sprintf("gr%d", i)
}

// grPort is the port Group Replication members talk to each other on.
const grPort = 33061

// groupArgs are the command-line options of Group Replication member n, on
// top of the flavor's serverArgs (the last value of an option wins).
func (c *Cluster) groupArgs(n *Node, members int) []string {
	seeds := make([]string, members)
	for i := range seeds {
		seeds[i] = fmt.Sprintf("%s:%d", c.Kind.memberName(i), grPort)
	}
	args := []string{
		// replication_group_members and _member_stats live there.
		"--performance-schema=ON",
		"--plugin-load-add=group_replication.so",
		"--group-replication-group-name=" + c.GroupName,
		"--group-replication-start-on-boot=OFF",
		fmt.Sprintf("--group-replication-local-address=%s:%d", n.Name, grPort),
		"--group-replication-group-seeds=" + strings.Join(seeds, ","),
		"--group-replication-recovery-get-public-key=ON",
		// The kit rejoins a member itself (Start, Reconnect,
		// StartGroupReplication), at once, rather than leave it to
		// automatic attempts five minutes apart.
		"--group-replication-autorejoin-tries=0",
		"--report-host=" + n.Name,
		"--report-port=3306",
	}
	if c.MultiPrimary {
		args = append(args,
			"--group-replication-single-primary-mode=OFF",
			"--group-replication-enforce-update-everywhere-checks=ON")
	}
	return args
}

// galeraArgs are the command-line options of Galera node n, on top of the
// flavor's serverArgs. Every node names every node in its cluster address, so
// that any of them restarts into the running cluster; node 0 bootstraps it
// with galeraBootstrapArgs, which it reads from roleArgsFile on its first
// start only.
func (c *Cluster) galeraArgs(n *Node, members int) []string {
	all := make([]string, members)
	for i := range all {
		all[i] = c.Kind.memberName(i)
	}
	return []string{
		"--log-slave-updates=ON",
		"--gtid-strict-mode=1",
		fmt.Sprintf("--gtid-domain-id=%d", GaleraDomainID),
		"--wsrep-on=ON",
		"--wsrep-provider=/usr/lib/galera/libgalera_smm.so",
		"--wsrep-cluster-name=rwsplit",
		"--wsrep-cluster-address=gcomm://" + strings.Join(all, ","),
		"--wsrep-node-address=" + n.Name,
		"--wsrep-node-name=" + n.Name,
		"--wsrep-sst-method=rsync",
		"--wsrep-gtid-mode=ON",
		fmt.Sprintf("--wsrep-gtid-domain-id=%d", GaleraDomainID),
		"--wsrep-provider-options=gcache.size=32M",
		"--innodb-autoinc-lock-mode=2",
		"--read-only=OFF",
	}
}

// galeraBootstrapArgs make node 0 start a new cluster rather than join one.
var galeraBootstrapArgs = []string{"--wsrep-cluster-address=gcomm://", "--wsrep-new-cluster"}

// setup returns node n's command line (before WithServerArgs), the SQL
// start.sh runs on its first start, and any extra files for its container.
func (c *Cluster) setup(n *Node, cfg config) (args []string, bootstrap string, files []testcontainers.ContainerFile) {
	f := c.Flavor
	switch c.Kind {
	case GroupReplication:
		args = append(f.serverArgs(n.ServerID, false), c.groupArgs(n, 1+cfg.replicas)...)
		// Users on every member, unlogged; the app database is created on
		// the primary once the group is up, so that it replicates.
		bootstrap = strings.Replace(f.bootstrapSQL(), "CREATE DATABASE app;\n", "", 1) +
			"SET sql_log_bin = 0;\nGRANT SELECT ON performance_schema.* TO 'app'@'%';\nSET sql_log_bin = 1;\n"
		return args, bootstrap, nil
	case Galera:
		args = append(f.serverArgs(n.ServerID, false), c.galeraArgs(n, 1+cfg.replicas)...)
		if n != c.all[0] {
			// Joiners get users and schema from node 0 by state transfer.
			return args, "", nil
		}
		return args, f.bootstrapSQL(), []testcontainers.ContainerFile{{
			Reader:            strings.NewReader(strings.Join(galeraBootstrapArgs, "\n") + "\n"),
			ContainerFilePath: roleArgsFile, FileMode: 0o644,
		}}
	}
	args = f.serverArgs(n.ServerID, n.Replica)
	if cfg.semiSync > 0 {
		args = append(args, f.semiSyncArgs(cfg.semiSync)...)
	}
	return append(args, f.roleArgs(n.role(), cfg.semiSync > 0)...), f.bootstrapSQL(), nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// startMembers creates the members of a GroupReplication or Galera cluster
// and forms it; StartCluster terminates what it started on error.
func (c *Cluster) startMembers(ctx context.Context, cfg config) error {
	nodes := make([]*Node, 1+cfg.replicas)
	for i := range nodes {
		id := i + 1
		if c.Kind == Galera {
			id = GaleraServerID
		}
		nodes[i] = &Node{cluster: c, ServerID: id, Name: c.Kind.memberName(i), Host: "127.0.0.1"}
	}
	c.Primary, c.Replicas, c.all = nodes[0], nodes[1:], nodes
	if c.Kind == Galera {
		return c.startGalera(ctx, cfg)
	}
	c.GroupName = newUUID()
	return c.startGroup(ctx, cfg)
}

// startGroup starts every member at once, bootstraps the group on gr0,
// creates the app database there, then has the others join, and waits until
// every member is ONLINE.
func (c *Cluster) startGroup(ctx context.Context, cfg config) error {
	if err := createAll(ctx, c.all, cfg); err != nil {
		return err
	}
	for _, n := range c.all {
		if err := n.admin().QueryRowContext(ctx, "SELECT @@server_uuid").Scan(&n.UUID); err != nil {
			return fmt.Errorf("rwsplittest: %s: read server_uuid: %w", n.Name, err)
		}
		// Distributed recovery (a joiner copying what it missed from a
		// member) runs as repl; the statement is not logged.
		q := fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_USER='%s', SOURCE_PASSWORD='%s' FOR CHANNEL 'group_replication_recovery'",
			replUser, replPass)
		if err := n.exec(ctx, q); err != nil {
			return err
		}
	}
	first := c.all[0]
	for _, q := range []string{
		"SET GLOBAL group_replication_bootstrap_group = ON",
		"START GROUP_REPLICATION",
		"SET GLOBAL group_replication_bootstrap_group = OFF",
	} {
		if err := first.exec(ctx, q); err != nil {
			return err
		}
	}
	if err := first.waitOnline(ctx, cfg.timeout); err != nil {
		return err
	}
	if err := first.exec(ctx, "CREATE DATABASE "+AppDatabase); err != nil {
		return err
	}
	for _, n := range c.all[1:] {
		if err := n.exec(ctx, "START GROUP_REPLICATION"); err != nil {
			return err
		}
	}
	for _, n := range c.all[1:] {
		if err := n.waitOnline(ctx, cfg.timeout); err != nil {
			return err
		}
	}
	return c.UpdateRoles(ctx)
}

// startGalera starts node 0, which bootstraps the cluster, then the others
// one at a time (each joins by a state transfer from a running node), and
// waits until every node is synced in a cluster of all of them.
func (c *Cluster) startGalera(ctx context.Context, cfg config) error {
	for _, n := range c.all {
		if err := n.create(ctx, cfg); err != nil {
			return err
		}
	}
	// From now on node 0 restarts into the running cluster.
	if err := c.all[0].ctr.CopyToContainer(ctx, nil, roleArgsFile, 0o644); err != nil {
		return fmt.Errorf("rwsplittest: %s: clear %s: %w", c.all[0].Name, roleArgsFile, err)
	}
	for _, n := range c.all {
		if err := n.waitSynced(ctx, cfg.timeout); err != nil {
			return err
		}
	}
	return nil
}

// createAll creates the nodes' containers concurrently.
func createAll(ctx context.Context, nodes []*Node, cfg config) error {
	errs := make([]error, len(nodes))
	done := make(chan struct{})
	for i, n := range nodes {
		go func() {
			defer func() { done <- struct{}{} }()
			errs[i] = n.create(ctx, cfg)
		}()
	}
	for range nodes {
		<-done
	}
	return errors.Join(errs...)
}

// Member states of Group Replication (performance_schema.
// replication_group_members.MEMBER_STATE) and Galera
// (wsrep_local_state_comment), as State reports them.
const (
	StateOnline     = "ONLINE"
	StateRecovering = "RECOVERING"
	StateOffline    = "OFFLINE"
	StateError      = "ERROR"
	StateSynced     = "Synced"
)

// State reports the node's membership state as the node itself sees it: on
// a GroupReplication member its MEMBER_STATE (ONLINE, RECOVERING, OFFLINE,
// ERROR, UNREACHABLE; OFFLINE also when Group Replication is stopped), on a
// Galera node its wsrep_local_state_comment (Synced, Donor/Desynced,
// Joining, Joined, ...). On an Async node it fails. One query.
func (n *Node) State(ctx context.Context) (string, error) {
	var q string
	switch n.cluster.Kind {
	case GroupReplication:
		q = "SELECT COALESCE((SELECT MEMBER_STATE FROM performance_schema.replication_group_members WHERE MEMBER_ID = @@server_uuid), 'OFFLINE')"
	case Galera:
		q = "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE_COMMENT'"
	default:
		return "", fmt.Errorf("rwsplittest: State on %s: not a %s or %s member", n.Name, GroupReplication, Galera)
	}
	var s string
	if err := n.admin().QueryRowContext(ctx, q).Scan(&s); err != nil {
		return "", fmt.Errorf("rwsplittest: %s: read state: %w", n.Name, err)
	}
	return s, nil
}

// poll calls ready every 100 ms until it reports true, fails, timeout
// passes (the error then says what ready last saw), or ctx ends.
func (n *Node) poll(ctx context.Context, timeout time.Duration, what string, ready func() (bool, string, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, last, err := ready()
		switch {
		case err != nil:
			last = err.Error()
		case ok:
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rwsplittest: %s not %s after %v: %s", n.Name, what, timeout, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rwsplittest: %s not %s: %w (last: %s)", n.Name, what, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitOnline waits until the Group Replication member reports itself ONLINE.
func (n *Node) waitOnline(ctx context.Context, timeout time.Duration) error {
	return n.poll(ctx, timeout, StateOnline, func() (bool, string, error) {
		s, err := n.State(ctx)
		if err == nil && (s == StateError || s == StateOffline) {
			return false, s, fmt.Errorf("rwsplittest: %s: member state %s", n.Name, s)
		}
		return s == StateOnline, "state " + s, err
	})
}

// galeraStatus reads the wsrep status variables of a Galera node.
func (n *Node) galeraStatus(ctx context.Context) (map[string]string, error) {
	rows, err := n.admin().QueryContext(ctx, "SHOW GLOBAL STATUS LIKE 'wsrep%'")
	if err != nil {
		return nil, fmt.Errorf("rwsplittest: %s: SHOW GLOBAL STATUS: %w", n.Name, err)
	}
	defer rows.Close()
	st := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("rwsplittest: %s: SHOW GLOBAL STATUS: %w", n.Name, err)
		}
		st[strings.ToLower(k)] = v
	}
	return st, rows.Err()
}

// waitSynced waits until the Galera node is ready, synced (wsrep_local_state
// 4) and in a primary component of every node of the cluster.
func (n *Node) waitSynced(ctx context.Context, timeout time.Duration) error {
	size := strconv.Itoa(len(n.cluster.all))
	return n.poll(ctx, timeout, "synced", func() (bool, string, error) {
		st, err := n.galeraStatus(ctx)
		if err != nil {
			return false, "", err
		}
		last := fmt.Sprintf("wsrep_ready=%s wsrep_local_state=%s (%s) wsrep_cluster_status=%s wsrep_cluster_size=%s",
			st["wsrep_ready"], st["wsrep_local_state"], st["wsrep_local_state_comment"], st["wsrep_cluster_status"], st["wsrep_cluster_size"])
		return st["wsrep_ready"] == "ON" && st["wsrep_local_state"] == "4" &&
			st["wsrep_cluster_status"] == "Primary" && st["wsrep_cluster_size"] == size, last, nil
	})
}

// UpdateRoles reads a GroupReplication cluster's membership, as the first
// ONLINE member that sees a primary reports it, and sets Primary to the
// ONLINE primary (in multi-primary mode: the first ONLINE member in name
// order) and Replicas to every other member, in name order (members that
// are down included). It waits up to a minute for the group to have a
// primary (after the primary stopped, the group elects another once it
// expelled the old one). A Galera cluster's roles are fixed (Primary is
// galera0) and an Async cluster's change only through Promote: there it does
// nothing. StartCluster, SetPrimary, Start, Reconnect and the Group
// Replication controls call it; call it after stopping or killing a
// primary.
func (c *Cluster) UpdateRoles(ctx context.Context) error {
	if c.Kind != GroupReplication {
		return nil
	}
	var primary *Node
	err := c.all[0].poll(ctx, time.Minute, "in a group with a primary", func() (bool, string, error) {
		var last []string
		for _, n := range c.all {
			p, err := n.groupPrimary(ctx)
			if err != nil {
				last = append(last, err.Error())
				continue
			}
			if p != nil {
				primary = p
				return true, "", nil
			}
			last = append(last, n.Name+": no ONLINE primary")
		}
		return false, strings.Join(last, "; "), nil
	})
	if err != nil {
		return fmt.Errorf("rwsplittest: UpdateRoles: %w", err)
	}
	c.Primary = primary
	c.Replicas = slices.DeleteFunc(slices.Clone(c.all), func(n *Node) bool { return n == primary })
	return nil
}

// groupPrimary returns the primary the member sees, if the member is ONLINE:
// the ONLINE PRIMARY (multi-primary: the first ONLINE member in name order).
func (n *Node) groupPrimary(ctx context.Context) (*Node, error) {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rows, err := n.admin().QueryContext(rctx, `SELECT MEMBER_HOST, MEMBER_STATE, MEMBER_ROLE,
		MEMBER_ID = @@server_uuid FROM performance_schema.replication_group_members`)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.Name, err)
	}
	defer rows.Close()
	self, primaries := false, map[string]bool{}
	for rows.Next() {
		var host, state, role string
		var me bool
		if err := rows.Scan(&host, &state, &role, &me); err != nil {
			return nil, fmt.Errorf("%s: %w", n.Name, err)
		}
		if state != StateOnline {
			continue
		}
		self = self || me
		if role == "PRIMARY" {
			primaries[host] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", n.Name, err)
	}
	if !self {
		return nil, nil
	}
	for _, m := range n.cluster.all { // name order
		if primaries[m.Name] {
			return m, nil
		}
	}
	return nil, nil
}

// SetPrimary makes member the primary of a single-primary GroupReplication
// cluster (SELECT group_replication_set_as_primary(uuid), on the current
// primary: it returns once the member took the role, after the transactions
// running on the old primary ended) and updates Primary and Replicas.
func (c *Cluster) SetPrimary(ctx context.Context, member *Node) error {
	switch {
	case c.Kind != GroupReplication:
		return fmt.Errorf("rwsplittest: SetPrimary: a %s cluster has no elected primary", c.Kind)
	case c.MultiPrimary:
		return errors.New("rwsplittest: SetPrimary: every member of a multi-primary group is a primary")
	case member == nil || !slices.Contains(c.all, member):
		return errors.New("rwsplittest: SetPrimary: not a member of this cluster")
	}
	// The function takes no placeholder ("You need to specify a server
	// uuid"); the uuid is the server's own, read at start.
	var res sql.NullString
	q := fmt.Sprintf("SELECT group_replication_set_as_primary('%s')", strings.ReplaceAll(member.UUID, "'", ""))
	if err := c.Primary.admin().QueryRowContext(ctx, q).Scan(&res); err != nil {
		return fmt.Errorf("rwsplittest: SetPrimary(%s): %w", member.Name, err)
	}
	if err := c.UpdateRoles(ctx); err != nil {
		return err
	}
	if c.Primary != member {
		return fmt.Errorf("rwsplittest: SetPrimary(%s): the group's primary is %s (%s)", member.Name, c.Primary.Name, res.String)
	}
	return nil
}

// StopGroupReplication takes the member out of its group (STOP
// GROUP_REPLICATION): it stays up, read-only (super_read_only), OFFLINE,
// applying nothing more until StartGroupReplication. Stopping the primary of
// a single-primary group makes the group elect another; it then updates
// Primary and Replicas (UpdateRoles).
func (n *Node) StopGroupReplication(ctx context.Context) error {
	if n.cluster.Kind != GroupReplication {
		return fmt.Errorf("rwsplittest: StopGroupReplication on %s: not a %s member", n.Name, GroupReplication)
	}
	if err := n.exec(ctx, "STOP GROUP_REPLICATION"); err != nil {
		return err
	}
	if n.cluster.Primary != n {
		return nil
	}
	return n.cluster.UpdateRoles(ctx)
}

// StartGroupReplication has the member join its group again (START
// GROUP_REPLICATION; after an ERROR state, STOP GROUP_REPLICATION first),
// waits until it is ONLINE (it recovers what it missed from another member
// first) and updates Primary and Replicas. A member that is ONLINE or
// RECOVERING is only waited for.
func (n *Node) StartGroupReplication(ctx context.Context) error {
	if n.cluster.Kind != GroupReplication {
		return fmt.Errorf("rwsplittest: StartGroupReplication on %s: not a %s member", n.Name, GroupReplication)
	}
	if err := n.rejoin(ctx, 2*time.Minute); err != nil {
		return err
	}
	return n.cluster.UpdateRoles(ctx)
}

// rejoin waits until the member is ONLINE with no member UNREACHABLE in its
// view (a member cut off from the others sees itself ONLINE), starting Group
// Replication on it when it is OFFLINE and restarting it after an ERROR (as
// when the group expelled it while it was cut off).
func (n *Node) rejoin(ctx context.Context, timeout time.Duration) error {
	const q = `SELECT COALESCE(SUM(MEMBER_ID = @@server_uuid AND MEMBER_STATE = 'ONLINE'), 0),
		COALESCE(SUM(MEMBER_STATE = 'UNREACHABLE'), 0) FROM performance_schema.replication_group_members`
	return n.poll(ctx, timeout, "ONLINE in its group", func() (bool, string, error) {
		s, err := n.State(ctx)
		if err != nil {
			return false, "", err
		}
		switch s {
		case StateError:
			if err := n.exec(ctx, "STOP GROUP_REPLICATION"); err != nil {
				return false, s, err
			}
			fallthrough
		case StateOffline:
			if n.listedUnreachable(ctx) {
				// A killed or cut-off member stays in the group, UNREACHABLE,
				// until the group expels it: its new incarnation joins after
				// that, not alongside it.
				return false, "the group still lists it UNREACHABLE", nil
			}
			if err := n.exec(ctx, "START GROUP_REPLICATION"); err != nil {
				return false, s, err
			}
			return false, "started Group Replication", nil
		}
		var online, unreachable int
		if err := n.admin().QueryRowContext(ctx, q).Scan(&online, &unreachable); err != nil {
			return false, s, fmt.Errorf("rwsplittest: %s: %w", n.Name, err)
		}
		return online == 1 && unreachable == 0, fmt.Sprintf("state %s, %d members unreachable", s, unreachable), nil
	})
}

// listedUnreachable reports whether another member that answers lists n as
// UNREACHABLE (its previous incarnation, not expelled yet). Members that do
// not answer are skipped; none answering is no.
func (n *Node) listedUnreachable(ctx context.Context) bool {
	for _, m := range n.cluster.all {
		if m == n {
			continue
		}
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		var listed int
		err := m.admin().QueryRowContext(qctx, `SELECT COUNT(*) FROM performance_schema.replication_group_members
			WHERE MEMBER_ID = ? AND MEMBER_STATE = 'UNREACHABLE'`, n.UUID).Scan(&listed)
		cancel()
		if err == nil && listed > 0 {
			return true
		}
	}
	return false
}

// waitBinlogPos waits until the Galera node's @@gtid_binlog_pos has reached,
// in every domain of pos (a MariaDB GTID position, "domain-server-seqno,
// ..."), pos's sequence number, or ctx ends. A Galera node's binlog holds
// the write sets it applied under the GTIDs their writer gave them.
func (n *Node) waitBinlogPos(ctx context.Context, pos string) error {
	want, err := parseMariaDBPos(pos)
	if err != nil {
		return fmt.Errorf("rwsplittest: %s: wait for %q: %w", n.Name, pos, err)
	}
	for {
		var got string
		if err := n.admin().QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&got); err != nil {
			return fmt.Errorf("rwsplittest: %s: wait for %s: %w", n.Name, pos, err)
		}
		have, err := parseMariaDBPos(got)
		if err != nil {
			return fmt.Errorf("rwsplittest: %s: gtid_binlog_pos %q: %w", n.Name, got, err)
		}
		caughtUp := true
		for d, seq := range want {
			caughtUp = caughtUp && have[d] >= seq
		}
		if caughtUp {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rwsplittest: %s: wait for %s (at %s): %w", n.Name, pos, got, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// parseMariaDBPos maps each domain of a MariaDB GTID position to its
// sequence number.
func parseMariaDBPos(pos string) (map[uint64]uint64, error) {
	m := map[uint64]uint64{}
	for _, g := range strings.Split(pos, ",") {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		parts := strings.Split(g, "-")
		if len(parts) != 3 {
			return nil, fmt.Errorf("bad GTID %q", g)
		}
		d, err1 := strconv.ParseUint(parts[0], 10, 32)
		seq, err2 := strconv.ParseUint(parts[2], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("bad GTID %q: %w", g, err)
		}
		m[d] = max(m[d], seq)
	}
	return m, nil
}
