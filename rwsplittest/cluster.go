package rwsplittest

import (
	"context"
	_ "embed" // start.sh
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

//go:embed start.sh
var startScript string

// ErrNoDocker is returned (wrapped) by StartCluster when no Docker engine
// answers. Start turns it into a skip outside CI and a failure in CI.
var ErrNoDocker = errors.New("rwsplittest: no Docker engine answers")

// ErrNoImage is returned (wrapped) by StartCluster when a local default image
// is missing (build it with `make images`).
var ErrNoImage = errors.New("rwsplittest: server image missing")

// Cluster is one primary and its replicas, each in its own container on a
// private Docker network, replicating by GTID; or (WithKind) the members of
// a MySQL Group Replication group or of a MariaDB Galera cluster, where
// Primary is the member tests write to and Replicas are the other members.
// Its nodes are reachable from the host on loopback only.
//
// Promote changes the topology; the fields always describe the current one.
// They are plain fields: do not read them while Promote runs.
type Cluster struct {
	// Flavor is the server family of every node.
	Flavor Flavor
	// Kind is the replication topology (WithKind; default Async).
	Kind Kind
	// MultiPrimary reports a multi-primary GroupReplication cluster
	// (WithMultiPrimary).
	MultiPrimary bool
	// GroupName is a GroupReplication cluster's group_replication_group_name,
	// a random uuid: the uuid of the GTIDs of every transaction the group
	// certifies. Empty for other kinds.
	GroupName string
	// Image is the image every node runs.
	Image string
	// Async clusters: Primary is the writable node; Replicas replicate from it, directly or
	// (cascaded replicas, see Node.Source) through another replica, and run
	// read-only (MySQL: super_read_only; MariaDB: read_only). Replicas lists
	// the nodes StartCluster made replicas in creation order, first-tier ones
	// first, without the one Promote made primary and with the old primary
	// it demoted appended.
	//
	// GroupReplication: Primary is the group's primary (multi-primary: the
	// first ONLINE member in name order, gr0 at start); Replicas are the
	// other members in name order. SetPrimary, UpdateRoles and the member
	// controls update both. Galera: Primary is galera0 (every node is
	// writable; it is the one tests write to), Replicas the other nodes; they
	// never change.
	Primary  *Node
	Replicas []*Node
	// Retired lists the old primaries Promote took out of the topology
	// (stopped, or read-only and replicating from nobody). Terminate removes
	// them with the rest.
	Retired []*Node
	// SemiSyncAcks is the number of replica acknowledgements the primary
	// waits for before a commit returns (WithSemiSync); 0 when replication is
	// asynchronous.
	SemiSyncAcks int
	// Version is the primary's VERSION().
	Version string
	// StartupTime is how long StartCluster took, from its call until every
	// replica was replicating.
	StartupTime time.Duration

	docker  *testcontainers.DockerClient
	network *testcontainers.DockerNetwork
	all     []*Node // every node created, for Terminate
}

type config struct {
	kind         Kind
	multiPrimary bool
	replicas     int
	cascaded     int
	semiSync     int
	image        string
	args         []string
	timeout      time.Duration
}

// Option configures StartCluster.
type Option func(*config)

// WithReplicas sets the number of replicas (default 2; 0 is allowed); with
// WithKind(GroupReplication) or WithKind(Galera), the number of members
// besides the first.
func WithReplicas(n int) Option { return func(c *config) { c.replicas = n } }

// WithCascadedReplicas adds k second-tier replicas (default 0) that replicate
// from replica1 rather than from the primary: "replica<n+1>" ...
// "replica<n+k>" after the n first-tier ones, appended to Cluster.Replicas,
// with Node.Source set to replica1 (which logs what it applies, so it can
// serve them). Each costs one more container. It needs at least one
// first-tier replica.
func WithCascadedReplicas(k int) Option { return func(c *config) { c.cascaded = k } }

// WithSemiSync makes replication semi-synchronous: a commit on the primary
// returns only after acks replicas acknowledged receiving it (MySQL's
// rpl_semi_sync_source_wait_for_replica_count; MariaDB waits for exactly one,
// so acks must be 1 there). The primary waits up to an hour for them rather
// than falling back to asynchronous replication, so a test never passes on a
// silent fallback: with fewer than acks replicas connected, writes block.
// Every node can take either side, so Promote keeps the cluster
// semi-synchronous. StartCluster returns once the primary reports semi-sync
// on with acks replicas connected; see SemiSyncStatus. On MySQL it loads the
// semisync_source and semisync_replica plugins on every node.
func WithSemiSync(acks int) Option { return func(c *config) { c.semiSync = acks } }

// WithImage runs every node from image instead of Flavor.Image().
func WithImage(image string) Option { return func(c *config) { c.image = image } }

// WithServerArgs appends server options to every node's command line.
func WithServerArgs(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

// WithStartupTimeout bounds how long each node may take to become ready
// (default 3 minutes, which covers a first-time data directory on a slow machine).
func WithStartupTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// setDefaultEnv sets the testcontainers settings this kit needs when the
// caller has not: no Ryuk sidecar (no registry is needed for it), and loopback
// as the host (inside a container testcontainers would otherwise dial the
// default gateway).
func setDefaultEnv() {
	for k, v := range map[string]string{
		"TESTCONTAINERS_RYUK_DISABLED": "true",
		"TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1",
	} {
		if _, ok := os.LookupEnv(k); !ok {
			_ = os.Setenv(k, v)
		}
	}
}

// StartCluster starts a primary and its replicas (two unless WithReplicas says
// otherwise, plus any WithCascadedReplicas), sets up replication and returns
// when every replica replicates (and, WithSemiSync, when the primary reports
// semi-sync on). The caller must call Terminate. On error nothing is left
// running.
func StartCluster(ctx context.Context, flavor Flavor, opts ...Option) (_ *Cluster, err error) {
	if err := flavor.valid(); err != nil {
		return nil, err
	}
	cfg := config{kind: Async, replicas: 2, image: flavor.Image(), timeout: 3 * time.Minute}
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.kind.valid(flavor, cfg); err != nil {
		return nil, err
	}
	if cfg.replicas < 0 {
		return nil, fmt.Errorf("rwsplittest: WithReplicas(%d): want 0 or more", cfg.replicas)
	}
	if cfg.cascaded < 0 || cfg.cascaded > 0 && cfg.replicas == 0 {
		return nil, fmt.Errorf("rwsplittest: WithCascadedReplicas(%d) with WithReplicas(%d): want 0 or more cascaded replicas, and a first-tier replica for them to replicate from",
			cfg.cascaded, cfg.replicas)
	}
	switch {
	case cfg.semiSync < 0:
		return nil, fmt.Errorf("rwsplittest: WithSemiSync(%d): want 1 or more acknowledgements (0: asynchronous replication)", cfg.semiSync)
	case cfg.semiSync > 1 && flavor == MariaDB:
		return nil, fmt.Errorf("rwsplittest: WithSemiSync(%d): MariaDB waits for one acknowledgement only", cfg.semiSync)
	case cfg.semiSync > cfg.replicas:
		return nil, fmt.Errorf("rwsplittest: WithSemiSync(%d) with WithReplicas(%d): writes would wait for more acknowledgements than there are first-tier replicas",
			cfg.semiSync, cfg.replicas)
	}
	setDefaultEnv()
	begin := time.Now()

	docker, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDocker, err)
	}
	if _, err := docker.Ping(ctx, client.PingOptions{}); err != nil {
		_ = docker.Close()
		return nil, fmt.Errorf("%w: %v", ErrNoDocker, err)
	}
	if _, err := docker.ImageInspect(ctx, cfg.image); err != nil && strings.HasPrefix(cfg.image, "rwsplit/") {
		_ = docker.Close()
		return nil, fmt.Errorf("%w: %s is not built (run `make images`, or set %s, %s or %s to an official image): %v",
			ErrNoImage, cfg.image, EnvMySQLImage, EnvMariaDBImage, EnvMariaDB118Image, err)
	}

	c := &Cluster{Flavor: flavor, Kind: cfg.kind, MultiPrimary: cfg.multiPrimary, Image: cfg.image, SemiSyncAcks: cfg.semiSync, docker: docker}
	defer func() {
		if err != nil {
			_ = c.Terminate(context.WithoutCancel(ctx))
		}
	}()
	if c.network, err = tcnetwork.New(ctx); err != nil {
		return nil, fmt.Errorf("rwsplittest: create network: %w", err)
	}
	if c.Kind != Async {
		if err := c.startMembers(ctx, cfg); err != nil {
			return nil, err
		}
		if err := c.Primary.admin().QueryRowContext(ctx, "SELECT VERSION()").Scan(&c.Version); err != nil {
			return nil, fmt.Errorf("rwsplittest: %s: %w", c.Primary.Name, err)
		}
		c.StartupTime = time.Since(begin)
		return c, nil
	}

	nodes := make([]*Node, 1+cfg.replicas+cfg.cascaded)
	for i := range nodes {
		n := &Node{cluster: c, ServerID: i + 1, Name: "primary", Host: "127.0.0.1"}
		switch {
		case i > cfg.replicas:
			n.Source = nodes[1]
		case i > 0:
			n.Source = nodes[0]
		}
		if i > 0 {
			n.Name, n.Replica = fmt.Sprintf("replica%d", i), true
		}
		nodes[i] = n
	}
	c.Primary, c.Replicas, c.all = nodes[0], nodes[1:], nodes

	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = n.create(ctx, cfg)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	if err := c.Primary.admin().QueryRowContext(ctx, "SELECT VERSION()").Scan(&c.Version); err != nil {
		return nil, fmt.Errorf("rwsplittest: primary: %w", err)
	}
	for _, r := range c.Replicas {
		if err := r.exec(ctx, flavor.changeSourceSQL(r.Source.Name)); err != nil {
			return nil, err
		}
		if err := r.exec(ctx, flavor.startReplica("")); err != nil {
			return nil, err
		}
	}
	for _, r := range c.Replicas {
		if err := r.waitReplicating(ctx, cfg.timeout); err != nil {
			return nil, err
		}
	}
	if err := c.waitSemiSync(ctx, cfg.timeout); err != nil {
		return nil, err
	}
	c.StartupTime = time.Since(begin)
	return c, nil
}

// freePort asks the kernel for a free loopback port. The kit binds each node
// to a fixed port so that its DSN survives a container stop and start.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (n *Node) create(ctx context.Context, cfg config) error {
	c := n.cluster
	var err error
	port := mobynet.MustParsePort("3306/tcp")
	args, bootstrap, files := c.setup(n, cfg)
	req := testcontainers.ContainerRequest{
		Image:        cfg.image,
		Entrypoint:   []string{"/bin/sh", "/rwsplit/start.sh"},
		Cmd:          append(args, cfg.args...),
		Env:          map[string]string{"RWSPLIT_FLAVOR": string(c.Flavor)},
		ExposedPorts: []string{"3306/tcp"},
		Labels:       map[string]string{"org.rwsplit.node": n.Name},
		Files: []testcontainers.ContainerFile{
			{Reader: strings.NewReader(startScript), ContainerFilePath: "/rwsplit/start.sh", FileMode: 0o755},
			{Reader: strings.NewReader(bootstrap), ContainerFilePath: "/rwsplit/bootstrap.sql", FileMode: 0o644},
		},
		Networks:       []string{c.network.Name},
		NetworkAliases: map[string][]string{c.network.Name: {n.Name}},
		HostConfigModifier: func(hc *container.HostConfig) {
			hc.PortBindings = mobynet.PortMap{port: {{
				HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(n.Port),
			}}}
		},
		WaitingFor: wait.ForLog("rwsplit: ready").WithStartupTimeout(cfg.timeout),
	}
	req.Files = append(req.Files, files...)
	// The free port is found before Docker binds it: another process may
	// take it in between ("port is already allocated"). Try another.
	for attempt := 1; ; attempt++ {
		if n.Port, err = freePort(); err != nil {
			return fmt.Errorf("rwsplittest: %s: no free port: %w", n.Name, err)
		}
		n.ctr, err = testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
			ContainerRequest: req,
			Started:          true,
		})
		if err == nil {
			return nil
		}
		if n.ctr != nil {
			_ = testcontainers.TerminateContainer(n.ctr)
			n.ctr = nil
		}
		if attempt == 5 || !strings.Contains(err.Error(), "port is already allocated") {
			return fmt.Errorf("rwsplittest: start %s (%s): %w", n.Name, cfg.image, err)
		}
	}
}

// Nodes returns the primary followed by the replicas (not the Retired nodes).
func (c *Cluster) Nodes() []*Node {
	return append([]*Node{c.Primary}, c.Replicas...)
}

// ReplicaDSNs returns the app DSN of every replica, in order.
func (c *Cluster) ReplicaDSNs(params ...string) []string {
	dsns := make([]string, len(c.Replicas))
	for i, r := range c.Replicas {
		dsns[i] = r.DSN(params...)
	}
	return dsns
}

// WaitCaughtUp waits until every replica (cascaded ones included) has
// applied all the primary had executed when it was called, or ctx ends. A
// replica whose applier is stopped holds it until ctx ends.
func (c *Cluster) WaitCaughtUp(ctx context.Context) error {
	var executed string
	if err := c.Primary.admin().QueryRowContext(ctx, c.Flavor.executedSQL()).Scan(&executed); err != nil {
		return fmt.Errorf("rwsplittest: read primary's executed GTIDs: %w", err)
	}
	for _, r := range c.Replicas {
		if err := r.waitFor(ctx, executed); err != nil {
			return err
		}
	}
	return nil
}

// Terminate kills and removes every container the cluster started (Retired
// ones too), all at once, and its network. It is safe to call more than once.
func (c *Cluster) Terminate(ctx context.Context) error {
	errs := make([]error, len(c.all)+2)
	var wg sync.WaitGroup
	for i, n := range c.all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = n.close(ctx)
		}()
	}
	wg.Wait()
	if c.network != nil {
		errs[len(c.all)] = c.network.Remove(ctx)
		c.network = nil
	}
	if c.docker != nil {
		errs[len(c.all)+1] = c.docker.Close()
		c.docker = nil
	}
	return errors.Join(errs...)
}

// SemiSyncStatus reports the primary's semi-synchronous replication state:
// whether it waits for acknowledgements (Rpl_semi_sync_source_status; MariaDB:
// Rpl_semi_sync_master_status) and how many semi-sync replicas are connected
// (..._clients). Without WithSemiSync it reports false and 0. One query.
func (c *Cluster) SemiSyncStatus(ctx context.Context) (on bool, clients int, err error) {
	query, statusVar, clientsVar := c.Flavor.semiSyncStatusSQL()
	rows, err := c.Primary.admin().QueryContext(ctx, query)
	if err != nil {
		return false, 0, fmt.Errorf("rwsplittest: %s: %s: %w", c.Primary.Name, query, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return false, 0, fmt.Errorf("rwsplittest: %s: %s: %w", c.Primary.Name, query, err)
		}
		switch {
		case strings.EqualFold(name, statusVar):
			on = strings.EqualFold(value, "ON")
		case strings.EqualFold(name, clientsVar):
			clients, _ = strconv.Atoi(value)
		}
	}
	if err := rows.Err(); err != nil {
		return false, 0, fmt.Errorf("rwsplittest: %s: %s: %w", c.Primary.Name, query, err)
	}
	return on, clients, nil
}

// waitSemiSync waits, in a semi-synchronous cluster, until the primary
// reports semi-sync on with at least SemiSyncAcks semi-sync replicas
// connected, so that writes do not block.
func (c *Cluster) waitSemiSync(ctx context.Context, timeout time.Duration) error {
	if c.SemiSyncAcks == 0 {
		return nil
	}
	deadline := time.Now().Add(timeout)
	for {
		on, clients, err := c.SemiSyncStatus(ctx)
		if err != nil {
			return err
		}
		if on && clients >= c.SemiSyncAcks {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rwsplittest: %s: semi-sync not active after %v: status %s with %d of %d replicas connected",
				c.Primary.Name, timeout, onOff(on), clients, c.SemiSyncAcks)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
