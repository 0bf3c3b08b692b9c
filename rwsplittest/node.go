package rwsplittest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	_ "github.com/go-sql-driver/mysql" // the driver the kit's handles use
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/rwsplit/rwsplit/internal/cluster"
	"github.com/testcontainers/testcontainers-go"
)

// Node is one server of a Cluster.
type Node struct {
	// Name is the node's alias on the cluster network (and, for a
	// GroupReplication or Galera member, its hostname and report host):
	// "primary", "replica1", ..., "gr0", ..., "galera0", ... Names are given at creation and never change: after Promote, the
	// node named "primary" may be a replica or retired, and a "replica<i>"
	// the primary. Use Cluster.Primary, Replica and Source for roles.
	Name string
	// ServerID is the node's @@server_id: 1 for the node named "primary",
	// i+1 for "replica<i>" and for "gr<i>"; GaleraServerID on every Galera
	// node.
	ServerID int
	// UUID is a GroupReplication member's @@server_uuid (its MEMBER_ID);
	// empty for other kinds.
	UUID string
	// Replica reports whether the node replicates (from Source) by
	// asynchronous replication; false for GroupReplication and Galera
	// members.
	Replica bool
	// Source is the node this one replicates from: the primary for a
	// first-tier replica, replica1 for a cascaded one (WithCascadedReplicas);
	// nil for the primary and for a Retired node.
	Source *Node
	// Host and Port reach the node from the host (always loopback). The port
	// stays the same across Stop and Start.
	Host string
	Port int

	cluster *Cluster
	ctr     testcontainers.Container

	mu      sync.Mutex
	adminDB *sql.DB
}

// Addr is host:port for the node.
func (n *Node) Addr() string { return fmt.Sprintf("%s:%d", n.Host, n.Port) }

// DSN is a go-sql-driver/mysql DSN for the app user and database on this
// node. params are extra "key=value" DSN parameters (such as
// "multiStatements=true").
func (n *Node) DSN(params ...string) string {
	return dsn(AppUser, AppPassword, n.Addr(), AppDatabase, params)
}

// AdminDSN is a DSN for a user with every privilege on this node.
func (n *Node) AdminDSN(params ...string) string {
	return dsn(adminUser, adminPass, n.Addr(), "", params)
}

func dsn(user, pass, addr, db string, params []string) string {
	p := append([]string{"timeout=5s", "parseTime=true"}, params...)
	return fmt.Sprintf("%s:%s@tcp(%s)/%s?%s", user, pass, addr, db, strings.Join(p, "&"))
}

// Admin returns a handle with every privilege on this node, owned by the node
// (closed by Terminate; do not close it).
func (n *Node) Admin() *sql.DB { return n.admin() }

func (n *Node) admin() *sql.DB {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.adminDB == nil {
		// sql.Open only fails for an unknown driver, which is imported above.
		n.adminDB, _ = sql.Open("mysql", n.AdminDSN("readTimeout=60s", "writeTimeout=10s"))
		n.adminDB.SetMaxIdleConns(2)
		n.adminDB.SetConnMaxIdleTime(30 * time.Second)
	}
	return n.adminDB
}

func (n *Node) exec(ctx context.Context, query string) error {
	if _, err := n.admin().ExecContext(ctx, query); err != nil {
		return fmt.Errorf("rwsplittest: %s: %s: %w", n.Name, query, err)
	}
	return nil
}

// role is the node's current role, from the cluster's description.
func (n *Node) role() role {
	switch {
	case n.Replica:
		return roleReplica
	case n.cluster.Primary == n:
		return rolePrimary
	}
	return roleRetired
}

func (n *Node) mustReplica(op string) error {
	if k := n.cluster.Kind; k != Async {
		return fmt.Errorf("rwsplittest: %s on %s: a %s member, not an asynchronous replica (use HoldApplier)", op, n.Name, k)
	}
	if !n.Replica {
		return fmt.Errorf("rwsplittest: %s on %s: not a replica", op, n.Name)
	}
	return nil
}

// StopApplier stops the replica's SQL (applier) thread: it keeps receiving its
// source's binlog but applies none of it until StartApplier. On a cascaded
// replica it holds back that replica only; on replica1 it holds back the
// cascaded replicas too, as they get only what replica1 applied.
// It fails on a GroupReplication or Galera member, whose applier cannot be
// stopped while it is a member (MySQL refuses STOP REPLICA FOR CHANNEL
// 'group_replication_applier' with error 3139): use HoldApplier, which works
// on every kind.
func (n *Node) StopApplier(ctx context.Context) error {
	if err := n.mustReplica("StopApplier"); err != nil {
		return err
	}
	return n.exec(ctx, n.cluster.Flavor.stopReplica("SQL_THREAD"))
}

// StartApplier restarts the replica's SQL (applier) thread. It fails on a
// GroupReplication or Galera member, as StopApplier does.
func (n *Node) StartApplier(ctx context.Context) error {
	if err := n.mustReplica("StartApplier"); err != nil {
		return err
	}
	return n.exec(ctx, n.cluster.Flavor.startReplica("SQL_THREAD"))
}

// HoldApplier holds the node's applier behind, on every kind, until release
// is called: it takes FLUSH TABLES WITH READ LOCK on a connection of its own
// and keeps it, so the node serves reads but applies no replicated
// transaction (an asynchronous replica's SQL thread, a Group Replication
// member's applier and a Galera node's appliers all wait for the lock). On
// Galera the lock desyncs the node (wsrep_local_state 2, Donor/Desynced), so
// that flow control does not hold the other nodes' writers.
// Writes on the node itself wait for the lock while held (GroupReplication
// secondaries refuse them anyway). release(ctx) unlocks and
// closes the connection; it is safe to call more than once. Each call costs
// one connection for the hold's duration.
func (n *Node) HoldApplier(ctx context.Context) (release func(context.Context) error, err error) {
	conn, err := n.admin().Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("rwsplittest: HoldApplier on %s: %w", n.Name, err)
	}
	if _, err := conn.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("rwsplittest: HoldApplier on %s: FLUSH TABLES WITH READ LOCK: %w", n.Name, err)
	}
	var once sync.Once
	var rerr error
	return func(ctx context.Context) error {
		once.Do(func() {
			if _, err := conn.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
				rerr = fmt.Errorf("rwsplittest: release %s's applier: UNLOCK TABLES: %w", n.Name, err)
				_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // drop the connection: closing it unlocks
			}
			_ = conn.Close()
		})
		return rerr
	}, nil
}

// SetDelay makes the replica apply each transaction no earlier than d after
// the primary committed it (SOURCE_DELAY / MASTER_DELAY, whole seconds, d
// rounded up; a cascaded replica counts from the original commit too).
// SetDelay(ctx, 0) removes the delay. It restarts both replication threads.
func (n *Node) SetDelay(ctx context.Context, d time.Duration) error {
	if err := n.mustReplica("SetDelay"); err != nil {
		return err
	}
	if d < 0 {
		return fmt.Errorf("rwsplittest: SetDelay(%v): negative delay", d)
	}
	f := n.cluster.Flavor
	secs := int(math.Ceil(d.Seconds()))
	// MariaDB changes MASTER_DELAY only with both threads stopped.
	if err := n.exec(ctx, f.stopReplica("")); err != nil {
		return err
	}
	if err := n.exec(ctx, f.setDelaySQL(secs)); err != nil {
		return err
	}
	return n.exec(ctx, f.startReplica(""))
}

// ReplicaStatus returns the replica's SHOW REPLICA STATUS row by column name
// (MySQL names such as Replica_SQL_Running, MariaDB's Slave_SQL_Running).
func (n *Node) ReplicaStatus(ctx context.Context) (map[string]string, error) {
	return replicaStatus(ctx, n.admin(), n.Name)
}

func replicaStatus(ctx context.Context, q cluster.Querier, name string) (map[string]string, error) {
	st, err := cluster.ShowRow(ctx, q, "SHOW REPLICA STATUS")
	if err != nil {
		return nil, fmt.Errorf("rwsplittest: %s: SHOW REPLICA STATUS: %w", name, err)
	}
	if len(st) == 0 {
		return nil, fmt.Errorf("rwsplittest: %s: SHOW REPLICA STATUS: no row (not a replica?)", name)
	}
	return st, nil
}

// threads reports whether the receiver (IO) and applier (SQL) threads run.
func threads(st map[string]string) (io, applier bool) {
	get := func(a, b string) string {
		if v, ok := st[a]; ok {
			return v
		}
		return st[b]
	}
	return get("Replica_IO_Running", "Slave_IO_Running") == "Yes",
		get("Replica_SQL_Running", "Slave_SQL_Running") == "Yes"
}

func (n *Node) waitReplicating(ctx context.Context, timeout time.Duration) error {
	return n.waitThreads(ctx, timeout, true)
}

// waitThreads waits until the replica's receiver runs, and its applier too
// when applier is set.
func (n *Node) waitThreads(ctx context.Context, timeout time.Duration, applier bool) error {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		st, err := n.ReplicaStatus(ctx)
		if err == nil {
			io, sqlRunning := threads(st)
			if io && (sqlRunning || !applier) {
				return nil
			}
			last = fmt.Sprintf("io=%v sql=%v last IO error %q, last SQL error %q",
				io, sqlRunning, st["Last_IO_Error"], st["Last_SQL_Error"])
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rwsplittest: %s does not replicate after %v: %s", n.Name, timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitFor waits until the replica has applied the primary's executed set.
func (n *Node) waitFor(ctx context.Context, executed string) error {
	if strings.TrimSpace(executed) == "" {
		return nil
	}
	if n.cluster.Kind == Galera {
		return n.waitBinlogPos(ctx, executed)
	}
	for {
		var res sql.NullInt64
		err := n.admin().QueryRowContext(ctx, n.cluster.Flavor.waitSQL(), executed, 1).Scan(&res)
		if err != nil {
			return fmt.Errorf("rwsplittest: %s: wait for %s: %w", n.Name, executed, err)
		}
		if res.Valid && res.Int64 == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// WaitCaughtUp waits until this replica (or GroupReplication or Galera
// member) has applied everything the primary had executed when it was called
// (for a cascaded replica too: GTIDs keep their origin through replica1), or
// ctx ends.
func (n *Node) WaitCaughtUp(ctx context.Context) error {
	if n.cluster.Kind == Async {
		if err := n.mustReplica("WaitCaughtUp"); err != nil {
			return err
		}
	}
	var executed string
	p := n.cluster.Primary
	if err := p.admin().QueryRowContext(ctx, n.cluster.Flavor.executedSQL()).Scan(&executed); err != nil {
		return fmt.Errorf("rwsplittest: read primary's executed GTIDs: %w", err)
	}
	return n.waitFor(ctx, executed)
}

// Stop stops the node's container (its server shuts down cleanly: a few
// seconds, up to ten for a MySQL primary with several replicas connected;
// Kill is immediate). Its port refuses connections until Start. Stopping the
// primary fails writes until Start; its replicas retry the connection every
// second (SOURCE_CONNECT_RETRY / MASTER_CONNECT_RETRY=1) and resume by
// themselves after Start. Stopping replica1 holds back the cascaded replicas
// likewise. A stopped GroupReplication member leaves its group (the group
// elects another primary if it was the primary: UpdateRoles follows); a
// stopped Galera node leaves its cluster, the others go on.
func (n *Node) Stop(ctx context.Context) error {
	timeout := 20 * time.Second
	if err := n.ctr.Stop(ctx, &timeout); err != nil {
		return fmt.Errorf("rwsplittest: stop %s: %w", n.Name, err)
	}
	return nil
}

// Kill stops the node's container at once, with no clean shutdown (docker stop
// with no grace period: SIGKILL), as a crash or a power loss: what its
// replicas had not received when it died stays on it. Its port refuses
// connections until Start, which runs crash recovery first. It takes well
// under a second. Killing the primary affects its replicas as Stop does.
func (n *Node) Kill(ctx context.Context) error {
	var noGrace time.Duration
	if err := n.ctr.Stop(ctx, &noGrace); err != nil {
		return fmt.Errorf("rwsplittest: kill %s: %w", n.Name, err)
	}
	return nil
}

// Start starts a stopped (or killed) node again, on the same port, and waits
// until it answers (and, for a replica, replicates again: both threads run,
// as a restart starts them). The node keeps its role, also one Promote gave
// it.
// Starting the primary waits until it answers, not until its replicas are
// back: they reconnect within a second or two; Cluster.WaitCaughtUp after a
// write waits for that. Start costs the server's restart, a few seconds.
//
// A GroupReplication member joins its group again (START GROUP_REPLICATION,
// recovering what it missed) and Start waits until it is ONLINE, then
// updates the cluster's roles (UpdateRoles); a Galera node rejoins its
// cluster (by incremental or full state transfer) and Start waits until it
// is synced. Either needs the rest of its group or cluster up (a whole
// stopped group cannot be restarted).
func (n *Node) Start(ctx context.Context) error {
	if err := n.ctr.Start(ctx); err != nil {
		return fmt.Errorf("rwsplittest: start %s: %w", n.Name, err)
	}
	return n.waitUp(ctx)
}

// waitUp waits until the node answers on a fresh connection (the admin
// handle's idle ones may be dead after a fault), and, for a replica, until it
// replicates.
func (n *Node) waitUp(ctx context.Context) error {
	db := n.admin()
	db.SetMaxIdleConns(0) // closes the idle connections
	db.SetMaxIdleConns(2)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := db.PingContext(pctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rwsplittest: %s does not answer: %w", n.Name, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	switch {
	case n.cluster.Kind == GroupReplication:
		if err := n.rejoin(ctx, 2*time.Minute); err != nil {
			return err
		}
		return n.cluster.UpdateRoles(ctx)
	case n.cluster.Kind == Galera:
		return n.waitSynced(ctx, 2*time.Minute)
	case n.Replica:
		return n.waitReplicating(ctx, time.Minute)
	}
	return nil
}

// Pause freezes every process of the node (docker pause): connections hang
// rather than fail, as with a stalled server. On the primary, writes hang;
// its replicas notice within replica_net_timeout (5 s), keep trying to
// reconnect every second and resume by themselves after Unpause.
//
// The engine sometimes fails to freeze a busy container ("unable to
// freeze"); Pause tries again, up to five times in two seconds.
func (n *Node) Pause(ctx context.Context) error {
	var err error
	for try := 0; try < 5; try++ {
		if _, err = n.cluster.docker.ContainerPause(ctx, n.ctr.GetContainerID(), client.ContainerPauseOptions{}); err == nil ||
			!strings.Contains(err.Error(), "unable to freeze") {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rwsplittest: pause %s: %w (after %v)", n.Name, ctx.Err(), err)
		case <-time.After(400 * time.Millisecond):
		}
	}
	if err != nil {
		return fmt.Errorf("rwsplittest: pause %s: %w", n.Name, err)
	}
	return nil
}

// Unpause resumes a paused node at once; it does not wait for anything (the
// server was never down). Queries that hung complete.
func (n *Node) Unpause(ctx context.Context) error {
	if _, err := n.cluster.docker.ContainerUnpause(ctx, n.ctr.GetContainerID(), client.ContainerUnpauseOptions{}); err != nil {
		return fmt.Errorf("rwsplittest: unpause %s: %w", n.Name, err)
	}
	return nil
}

// Disconnect cuts the node from the cluster network: neither the host nor the
// other nodes reach it until Reconnect. On the primary, writes fail or hang;
// its replicas notice within replica_net_timeout (5 s) and keep trying to
// reconnect every second.
func (n *Node) Disconnect(ctx context.Context) error {
	_, err := n.cluster.docker.NetworkDisconnect(ctx, n.cluster.network.ID, client.NetworkDisconnectOptions{
		Container: n.ctr.GetContainerID(), Force: true,
	})
	if err != nil {
		return fmt.Errorf("rwsplittest: disconnect %s: %w", n.Name, err)
	}
	return nil
}

// Reconnect attaches a disconnected node to the cluster network again, under
// its alias, and waits until it answers on a fresh connection (and, for a
// replica, replicates). The replicas of a reconnected primary resume by
// themselves within a few seconds, not before Reconnect returns;
// Cluster.WaitCaughtUp after a write waits for that. A GroupReplication
// member or Galera node is waited for as Start does (a member the group
// expelled meanwhile is restarted into it).
func (n *Node) Reconnect(ctx context.Context) error {
	_, err := n.cluster.docker.NetworkConnect(ctx, n.cluster.network.ID, client.NetworkConnectOptions{
		Container:      n.ctr.GetContainerID(),
		EndpointConfig: &mobynet.EndpointSettings{Aliases: []string{n.Name}},
	})
	if err != nil {
		return fmt.Errorf("rwsplittest: reconnect %s: %w", n.Name, err)
	}
	return n.waitUp(ctx)
}

// close kills and removes the node's container (its data is thrown away: no
// clean shutdown) and closes its admin handle.
func (n *Node) close(ctx context.Context) error {
	n.mu.Lock()
	db := n.adminDB
	n.adminDB = nil
	n.mu.Unlock()
	var errs []error
	if db != nil {
		errs = append(errs, db.Close())
	}
	if n.ctr != nil {
		errs = append(errs, testcontainers.TerminateContainer(n.ctr, testcontainers.StopContext(ctx), testcontainers.StopTimeout(0)))
		n.ctr = nil
	}
	return errors.Join(errs...)
}
