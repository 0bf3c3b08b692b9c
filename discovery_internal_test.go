package rwsplit

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/rwsplit/rwsplit/internal/cluster"
)

// TestChooseWriter: which server discovery makes the writer, from one
// round's probes, when the primary is not writable (or none is known).
func TestChooseWriter(t *testing.T) {
	async := func(id int64, writable, replica bool, source int64) probe {
		return probe{m: cluster.Member{Identity: cluster.Identity{Kind: cluster.Async, ServerID: id, ReadOnly: !writable},
			Writable: writable, Replica: replica, SourceID: source, Key: fmt.Sprintf("%020d", id)}}
	}
	member := func(kind cluster.Kind, id int64, key string, writable, multi bool) probe {
		return probe{m: cluster.Member{Identity: cluster.Identity{Kind: kind, ServerID: id},
			Writable: writable, Serving: true, MultiWriter: multi, Key: key}}
	}
	down := probe{err: fmt.Errorf("refused")}
	for _, tc := range []struct {
		name   string
		probes []probe
		hung   bool // the primary does not answer (else: none known)
		want   int  // index in probes; -1: none
	}{
		{"the one writable server that does not replicate", []probe{async(2, false, true, 1), async(1, true, false, 0)}, false, 1},
		{"two writable servers that do not replicate: a split brain", []probe{async(1, true, false, 0), async(2, true, false, 0)}, false, -1},
		{"an active-active pair: the lower server_id", []probe{async(7, true, true, 3), async(3, true, true, 7)}, false, 1},
		{"a pair and a replica of it", []probe{async(5, false, true, 3), async(7, true, true, 3), async(3, true, true, 7)}, false, 2},
		{"a writable replica of a primary that does not replicate back, the primary hung: not taken",
			[]probe{async(2, true, true, 1), async(3, false, true, 1)}, true, -1},
		{"a writable replica of a server outside: not a pair", []probe{async(2, true, true, 9), async(3, true, true, 2)}, false, -1},
		{"group replication: the primary", []probe{member(cluster.Group, 1, "c", false, false), member(cluster.Group, 2, "a", true, false),
			member(cluster.Group, 3, "b", false, false)}, false, 1},
		{"multi-primary: the lowest member id", []probe{member(cluster.Group, 1, "c", true, true), member(cluster.Group, 2, "b", true, true),
			down}, false, 1},
		{"galera: the lowest node name", []probe{member(cluster.Galera, 1, "galera2", true, true), member(cluster.Galera, 1, "galera1", true, true),
			member(cluster.Galera, 1, "galera0", false, true)}, false, 1},
		{"galera, writer hung: the lowest other node", []probe{member(cluster.Galera, 1, "galera2", true, true),
			member(cluster.Galera, 1, "galera1", true, true)}, true, 1},
		{"nobody answers", []probe{down, down}, false, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := &topology{}
			for i := range tc.probes {
				top.replicas = append(top.replicas, newServer(nil, i, fmt.Sprintf("server %d", i)))
			}
			var p *Server
			if tc.hung {
				p = newServer(nil, -1, "primary")
			}
			db := &DB{}
			got := db.chooseWriter(top, p, tc.hung, tc.probes)
			if tc.want < 0 {
				assert.Nil(t, got)
				return
			}
			assert.Same(t, top.replicas[tc.want], got)
		})
	}
}
