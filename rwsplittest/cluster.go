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
// private Docker network, replicating by GTID. Its nodes are reachable from
// the host on loopback only.
type Cluster struct {
	// Flavor is the server family of every node.
	Flavor Flavor
	// Image is the image every node runs.
	Image string
	// Primary is the writable node; Replicas replicate from it and run
	// read-only (MySQL: super_read_only; MariaDB: read_only).
	Primary  *Node
	Replicas []*Node
	// Version is the primary's VERSION().
	Version string
	// StartupTime is how long StartCluster took, from its call until every
	// replica was replicating.
	StartupTime time.Duration

	docker  *testcontainers.DockerClient
	network *testcontainers.DockerNetwork
}

type config struct {
	replicas int
	image    string
	args     []string
	timeout  time.Duration
}

// Option configures StartCluster.
type Option func(*config)

// WithReplicas sets the number of replicas (default 2; 0 is allowed).
func WithReplicas(n int) Option { return func(c *config) { c.replicas = n } }

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
// otherwise), sets up replication and returns when every replica replicates.
// The caller must call Terminate. On error nothing is left running.
func StartCluster(ctx context.Context, flavor Flavor, opts ...Option) (_ *Cluster, err error) {
	if err := flavor.valid(); err != nil {
		return nil, err
	}
	cfg := config{replicas: 2, image: flavor.Image(), timeout: 3 * time.Minute}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.replicas < 0 {
		return nil, fmt.Errorf("rwsplittest: WithReplicas(%d): want 0 or more", cfg.replicas)
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
		return nil, fmt.Errorf("%w: %s is not built (run `make images`, or set %s / %s to an official image): %v",
			ErrNoImage, cfg.image, EnvMySQLImage, EnvMariaDBImage, err)
	}

	c := &Cluster{Flavor: flavor, Image: cfg.image, docker: docker}
	defer func() {
		if err != nil {
			_ = c.Terminate(context.WithoutCancel(ctx))
		}
	}()
	if c.network, err = tcnetwork.New(ctx); err != nil {
		return nil, fmt.Errorf("rwsplittest: create network: %w", err)
	}

	nodes := make([]*Node, cfg.replicas+1)
	for i := range nodes {
		n := &Node{cluster: c, ServerID: i + 1, Name: "primary", Host: "127.0.0.1"}
		if i > 0 {
			n.Name, n.Replica = fmt.Sprintf("replica%d", i), true
		}
		nodes[i] = n
	}
	c.Primary, c.Replicas = nodes[0], nodes[1:]

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
		if err := r.exec(ctx, flavor.changeSourceSQL(c.Primary.Name)); err != nil {
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
	if n.Port, err = freePort(); err != nil {
		return fmt.Errorf("rwsplittest: %s: no free port: %w", n.Name, err)
	}
	port := mobynet.MustParsePort("3306/tcp")
	req := testcontainers.ContainerRequest{
		Image:        cfg.image,
		Entrypoint:   []string{"/bin/sh", "/rwsplit/start.sh"},
		Cmd:          append(c.Flavor.serverArgs(n.ServerID, n.Replica), cfg.args...),
		Env:          map[string]string{"RWSPLIT_FLAVOR": string(c.Flavor)},
		ExposedPorts: []string{"3306/tcp"},
		Labels:       map[string]string{"org.rwsplit.node": n.Name},
		Files: []testcontainers.ContainerFile{
			{Reader: strings.NewReader(startScript), ContainerFilePath: "/rwsplit/start.sh", FileMode: 0o755},
			{Reader: strings.NewReader(c.Flavor.bootstrapSQL()), ContainerFilePath: "/rwsplit/bootstrap.sql", FileMode: 0o644},
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
	n.ctr, err = testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: req,
		Started:          true,
	})
	if err != nil {
		return fmt.Errorf("rwsplittest: start %s (%s): %w", n.Name, cfg.image, err)
	}
	return nil
}

// Nodes returns the primary followed by the replicas.
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

// WaitCaughtUp waits until every replica whose applier runs has applied all
// the primary had executed when it was called, or ctx ends.
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

// Terminate stops and removes every container and the network the cluster
// started. It is safe to call more than once.
func (c *Cluster) Terminate(ctx context.Context) error {
	var errs []error
	for _, n := range c.Nodes() {
		if n == nil {
			continue
		}
		errs = append(errs, n.close(ctx))
	}
	if c.network != nil {
		errs = append(errs, c.network.Remove(ctx))
		c.network = nil
	}
	if c.docker != nil {
		errs = append(errs, c.docker.Close())
		c.docker = nil
	}
	return errors.Join(errs...)
}
