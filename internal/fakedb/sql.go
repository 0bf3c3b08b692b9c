package fakedb

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/rwsplit/rwsplit/internal/dialect"
)

// kind is a statement of the fixed grammar.
type kind int

const (
	kInsert              kind = iota + 1 // INSERT INTO kv (k, v) VALUES (?, ?)
	kReplace                             // REPLACE INTO kv (k, v) VALUES (?, ?)
	kInsertReturning                     // INSERT ... RETURNING k, v
	kUpdate                              // UPDATE kv SET v = ? WHERE k = ?
	kDelete                              // DELETE FROM kv WHERE k = ?
	kCall                                // CALL kv_put(?, ?)
	kSelectPut                           // SELECT kv_put(?, ?)
	kSelectV                             // SELECT v FROM kv WHERE k = ?
	kSelectVLock                         // ... FOR UPDATE
	kSelectAll                           // SELECT k, v FROM kv ORDER BY k
	kServerID                            // SELECT @@server_id
	kIdentity                            // SELECT @@server_id, @@GLOBAL.read_only[, @@server_uuid]
	kIdentityKind                        // kIdentity and the cluster kind's marker (group name, wsrep_on)[, @@GLOBAL.gtid_mode]
	kIdentityCheap                       // internal/cluster's cheap identity: variables by name, executed GTIDs[, @@GLOBAL.gtid_mode]
	kIdentityCheapMarker                 // kIdentityCheap and the kind's marker variable (refused when absent)
	kSubquery                            // SELECT (SELECT 1 UNION ALL SELECT 1)
	kSleep                               // SELECT SLEEP(?)
	kSelect1                             // SELECT 1
	kVersion                             // SELECT VERSION()
	kBinlogStatus                        // SHOW BINARY LOG STATUS / SHOW MASTER STATUS
	kGtidExecuted                        // SELECT @@GLOBAL.gtid_executed
	kGtidExecutedUUID                    // SELECT @@GLOBAL.gtid_executed, @@server_uuid
	kGtidOwned                           // SELECT @@GLOBAL.gtid_owned
	kGtidBinlogPos                       // SELECT @@GLOBAL.gtid_binlog_pos
	kGtidSlavePos                        // SELECT @@GLOBAL.gtid_slave_pos
	kLastGtid                            // SELECT @@last_gtid
	kReplicaStatus                       // SHOW REPLICA STATUS
	kSelectWait                          // SELECT <wait>
	kSetSQLMode                          // SET @@SESSION.sql_mode = (SELECT CASE WHEN <wait> ...)
	kNoop                                // DO 1, SET @x = ?
	kGroupCheck                          // internal/cluster's Group Replication member check
	kGroupCaughtUp                       // internal/cluster's Group Replication caught-up check
	kGaleraCheck                         // internal/cluster's Galera node check
	kGaleraCaughtUp                      // internal/cluster's Galera caught-up check
)

// writes reports whether k changes data.
func (k kind) writes() bool {
	switch k {
	case kInsert, kReplace, kInsertReturning, kUpdate, kDelete, kCall, kSelectPut:
		return true
	}
	return false
}

// onKV reports whether k reads or writes kv (what a Galera node that is not
// ready refuses).
func (k kind) onKV() bool {
	return k.writes() || k == kSelectV || k == kSelectVLock || k == kSelectAll
}

// waitFn is a wait function.
type waitFn int

const (
	wGTIDSet    waitFn = iota + 1 // WAIT_FOR_EXECUTED_GTID_SET(set, timeout)
	wMasterGTID                   // MASTER_GTID_WAIT(pos, timeout)
	wSourcePos                    // SOURCE_POS_WAIT(file, pos, timeout)
	wMasterPos                    // MASTER_POS_WAIT(file, pos, timeout)
	wWsrepUpto                    // WSREP_SYNC_WAIT_UPTO_GTID(gtid[, timeout])
)

// waitExpr is a call of a wait function, compared ("= 0" for GTID waits,
// ">= 0" for position waits, "= 1" for WSREP_SYNC_WAIT_UPTO_GTID: 1 when the
// wait succeeded) or raw (the function's own result).
type waitExpr struct {
	fn   waitFn
	cmp  bool
	args []any
}

// parsed is one statement, parsed and bound.
type parsed struct {
	kind kind
	text string // whitespace-normalised text
	col  string // the column name of a one-expression SELECT
	vals []any  // the bound values of the statement's slots, in order
	wait *waitExpr
}

// valueRE matches one value slot: a placeholder or a literal.
const valueRE = `(\?|-?[0-9]+(?:\.[0-9]*)?(?:e[-+]?[0-9]+)?|'(?:[^'\\]|''|\\.)*'|"(?:[^"\\]|""|\\.)*"|null)`

// rule is one statement form: a regexp whose groups are the slots, '#'
// for a value and '%' for a nested wait expression.
type rule struct {
	kind   kind
	flavor dialect.Flavor // 0: both
	re     *regexp.Regexp
	slots  string
}

// waitRule is one wait expression form.
type waitRule struct {
	fn     waitFn
	cmp    bool
	flavor dialect.Flavor
	re     *regexp.Regexp
}

func isWordChar(c byte) bool {
	return c == '_' || c == '@' || c == '.' || '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'z'
}

// compile turns a template into an anchored, case-insensitive regexp: its
// words must be separated by whitespace, its punctuation may be; '#' is a
// value slot and '%' any text (a nested wait expression).
func compile(tmpl string) (*regexp.Regexp, string) {
	var b strings.Builder
	var slots []byte
	b.WriteString(`(?is)^`)
	first, prevWord := true, false
	for i := 0; i < len(tmpl); {
		c := tmpl[i]
		if c == ' ' {
			i++
			continue
		}
		var tok string
		word := false
		switch {
		case c == '#':
			tok, word = valueRE, true
			slots = append(slots, c)
			i++
		case c == '%':
			tok, word = `(.+)`, true
			slots = append(slots, c)
			i++
		case isWordChar(c):
			j := i
			for j < len(tmpl) && isWordChar(tmpl[j]) {
				j++
			}
			tok, word = regexp.QuoteMeta(tmpl[i:j]), true
			i = j
		case c == '>' && i+1 < len(tmpl) && tmpl[i+1] == '=':
			tok = ">="
			i += 2
		default:
			tok = regexp.QuoteMeta(string(c))
			i++
		}
		if !first {
			if prevWord && word {
				b.WriteString(`\s+`)
			} else {
				b.WriteString(`\s*`)
			}
		}
		b.WriteString(tok)
		first, prevWord = false, word
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String()), string(slots)
}

func r(k kind, f dialect.Flavor, tmpl string) rule {
	re, slots := compile(tmpl)
	return rule{kind: k, flavor: f, re: re, slots: slots}
}

// grammar is every statement form, tried in order.
var grammar = []rule{
	r(kInsert, 0, "INSERT INTO kv (k, v) VALUES (#, #)"),
	r(kReplace, 0, "REPLACE INTO kv (k, v) VALUES (#, #)"),
	r(kInsertReturning, 0, "INSERT INTO kv (k, v) VALUES (#, #) RETURNING k, v"),
	r(kUpdate, 0, "UPDATE kv SET v = # WHERE k = #"),
	r(kDelete, 0, "DELETE FROM kv WHERE k = #"),
	r(kCall, 0, "CALL kv_put(#, #)"),
	r(kSelectPut, 0, "SELECT kv_put(#, #)"),
	r(kSelectV, 0, "SELECT v FROM kv WHERE k = #"),
	r(kSelectVLock, 0, "SELECT v FROM kv WHERE k = # FOR UPDATE"),
	r(kSelectAll, 0, "SELECT k, v FROM kv ORDER BY k"),
	r(kServerID, 0, "SELECT @@server_id"),
	r(kIdentity, MySQL, "SELECT @@server_id, @@GLOBAL.read_only, @@server_uuid"),
	r(kIdentity, MariaDB, "SELECT @@server_id, @@GLOBAL.read_only"),
	r(kIdentityKind, MySQL, "SELECT @@server_id, @@GLOBAL.read_only, @@server_uuid, "+
		"(SELECT VARIABLE_VALUE FROM performance_schema.global_variables WHERE VARIABLE_NAME = 'group_replication_group_name'), @@GLOBAL.gtid_mode"),
	r(kIdentityKind, MySQL, "SELECT @@server_id, @@GLOBAL.read_only, @@server_uuid, "+
		"(SELECT VARIABLE_VALUE FROM performance_schema.global_variables WHERE VARIABLE_NAME = 'group_replication_group_name')"),
	r(kIdentityKind, MariaDB, "SELECT @@server_id, @@GLOBAL.read_only, "+
		"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME = 'WSREP_ON')"),
	r(kIdentityCheap, MySQL, "SELECT @@server_id, @@GLOBAL.read_only, @@server_uuid, @@GLOBAL.gtid_executed, @@GLOBAL.gtid_mode"),
	r(kIdentityCheap, MariaDB, "SELECT @@server_id, @@GLOBAL.read_only, @@GLOBAL.gtid_binlog_pos, @@GLOBAL.gtid_slave_pos"),
	r(kIdentityCheapMarker, MySQL, "SELECT @@server_id, @@GLOBAL.read_only, @@server_uuid, @@GLOBAL.gtid_executed, @@GLOBAL.gtid_mode, @@GLOBAL.group_replication_group_name"),
	r(kIdentityCheapMarker, MariaDB, "SELECT @@server_id, @@GLOBAL.read_only, @@GLOBAL.gtid_binlog_pos, @@GLOBAL.gtid_slave_pos, @@GLOBAL.wsrep_on"),
	r(kSubquery, 0, "SELECT (SELECT 1 UNION ALL SELECT 1)"),
	r(kSleep, 0, "SELECT SLEEP(#)"),
	r(kSelect1, 0, "SELECT 1"),
	r(kVersion, 0, "SELECT VERSION()"),
	r(kBinlogStatus, MySQL, "SHOW BINARY LOG STATUS"),
	r(kBinlogStatus, MariaDB, "SHOW MASTER STATUS"),
	r(kGtidExecuted, MySQL, "SELECT @@GLOBAL.gtid_executed"),
	r(kGtidExecutedUUID, MySQL, "SELECT @@GLOBAL.gtid_executed, @@server_uuid"),
	r(kGtidOwned, MySQL, "SELECT @@GLOBAL.gtid_owned"),
	r(kGtidBinlogPos, MariaDB, "SELECT @@GLOBAL.gtid_binlog_pos"),
	r(kGtidSlavePos, MariaDB, "SELECT @@GLOBAL.gtid_slave_pos"),
	r(kLastGtid, MariaDB, "SELECT @@last_gtid"),
	r(kReplicaStatus, 0, "SHOW REPLICA STATUS"),
	r(kGroupCheck, MySQL, groupCheckSQL),
	r(kGroupCaughtUp, MySQL, groupCaughtUpSQL),
	r(kGaleraCheck, MariaDB, galeraCheckSQL),
	r(kGaleraCaughtUp, MariaDB, galeraCaughtUpSQL),
	r(kSetSQLMode, 0, "SET @@SESSION.sql_mode = (SELECT CASE WHEN % THEN @@SESSION.sql_mode ELSE # END)"),
	r(kNoop, 0, "DO 1"),
	{kind: kNoop, re: regexp.MustCompile(`(?is)^SET\s*@[a-z_][a-z0-9_]*\s*=\s*` + valueRE + `$`), slots: "#"},
	r(kSelectWait, 0, "SELECT %"), // last: anything else after SELECT must be a wait
}

func w(fn waitFn, cmp bool, f dialect.Flavor, tmpl string) waitRule {
	re, _ := compile(tmpl)
	return waitRule{fn: fn, cmp: cmp, flavor: f, re: re}
}

// waitGrammar is every wait expression form.
var waitGrammar = []waitRule{
	w(wGTIDSet, true, MySQL, "WAIT_FOR_EXECUTED_GTID_SET(#, #) = 0"),
	w(wGTIDSet, false, MySQL, "WAIT_FOR_EXECUTED_GTID_SET(#, #)"),
	w(wSourcePos, true, MySQL, "SOURCE_POS_WAIT(#, #, #) >= 0"),
	w(wSourcePos, false, MySQL, "SOURCE_POS_WAIT(#, #, #)"),
	w(wMasterGTID, true, MariaDB, "MASTER_GTID_WAIT(#, #) = 0"),
	w(wMasterGTID, false, MariaDB, "MASTER_GTID_WAIT(#, #)"),
	w(wMasterPos, true, MariaDB, "MASTER_POS_WAIT(#, #, #) >= 0"),
	w(wMasterPos, false, MariaDB, "MASTER_POS_WAIT(#, #, #)"),
	w(wWsrepUpto, true, MariaDB, "WSREP_SYNC_WAIT_UPTO_GTID(#, #) = 1"),
	w(wWsrepUpto, false, MariaDB, "WSREP_SYNC_WAIT_UPTO_GTID(#, #)"),
	w(wWsrepUpto, true, MariaDB, "WSREP_SYNC_WAIT_UPTO_GTID(#) = 1"),
	w(wWsrepUpto, false, MariaDB, "WSREP_SYNC_WAIT_UPTO_GTID(#)"),
}

// parse parses one statement of the grammar, binding its placeholders from
// args in order (len(args) is the statement's placeholder count).
func parse(text string, args []any, f dialect.Flavor) (*parsed, error) {
	for _, g := range grammar {
		if g.flavor != 0 && g.flavor != f {
			continue
		}
		m := g.re.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		p := &parsed{kind: g.kind, text: text}
		if len(text) > 7 && strings.EqualFold(text[:7], "SELECT ") {
			p.col = text[7:]
		}
		rest := args
		for i, grp := range m[1:] {
			if g.slots[i] == '%' {
				n := countPlaceholders(grp)
				if n > len(rest) {
					return nil, errArgs
				}
				we, ok := parseWait(grp, rest[:n], f)
				if !ok {
					return nil, syntaxErr(text)
				}
				p.wait, rest = we, rest[n:]
				continue
			}
			v, r, err := bind(grp, rest)
			if err != nil {
				return nil, err
			}
			p.vals, rest = append(p.vals, v), r
		}
		return p, nil
	}
	return nil, syntaxErr(text)
}

// parseWait parses a wait expression.
func parseWait(text string, args []any, f dialect.Flavor) (*waitExpr, bool) {
	text = strings.TrimSpace(text)
	for _, g := range waitGrammar {
		if g.flavor != f {
			continue
		}
		m := g.re.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		we := &waitExpr{fn: g.fn, cmp: g.cmp}
		rest := args
		for _, grp := range m[1:] {
			v, r, err := bind(grp, rest)
			if err != nil {
				return nil, false
			}
			we.args, rest = append(we.args, v), r
		}
		return we, true
	}
	return nil, false
}

var errArgs = fmt.Errorf("fakedb: fewer arguments than placeholders")

// bind returns the value of a slot: the next arg for '?', else the literal.
func bind(tok string, args []any) (any, []any, error) {
	if tok == "?" {
		if len(args) == 0 {
			return nil, nil, errArgs
		}
		return args[0], args[1:], nil
	}
	switch c := tok[0]; {
	case c == '\'' || c == '"':
		s := tok[1 : len(tok)-1]
		s = strings.ReplaceAll(s, string([]byte{c, c}), string(c))
		return s, args, nil
	case c == 'n' || c == 'N':
		return nil, args, nil
	}
	if n, err := strconv.ParseInt(tok, 10, 64); err == nil {
		return n, args, nil
	}
	x, err := strconv.ParseFloat(tok, 64)
	if err != nil {
		return nil, nil, syntaxErr(tok)
	}
	return x, args, nil
}

// normalize collapses whitespace runs to one space and trims.
func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }

// scan calls fn for each byte of s outside quotes ('...', "...", `...`).
func scan(s string, fn func(i int)) {
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == '\\' && q != '`' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '\'' || c == '"' || c == '`':
			q = c
		default:
			fn(i)
		}
	}
}

// split splits a text into its statements at ';' outside quotes, dropping
// empty ones.
func split(s string) []string {
	var out []string
	start := 0
	add := func(t string) {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	scan(s, func(i int) {
		if s[i] == ';' {
			add(s[start:i])
			start = i + 1
		}
	})
	add(s[start:])
	return out
}

// countPlaceholders counts the '?' outside quotes.
func countPlaceholders(s string) int {
	n := 0
	scan(s, func(i int) {
		if s[i] == '?' {
			n++
		}
	})
	return n
}

// toInt converts an argument where an integer is expected: integers,
// floats (truncated), decimal text ("5", "5.0"), booleans.
func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case float64:
		return int64(x), nil
	case string:
		return textInt(x)
	case []byte:
		return textInt(string(x))
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case nil:
		return 0, fmt.Errorf("fakedb: NULL where an integer is expected")
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return 0, fmt.Errorf("fakedb: %d out of BIGINT range", u)
		}
		return int64(u), nil
	case reflect.Float32, reflect.Float64:
		return int64(rv.Float()), nil
	}
	return 0, fmt.Errorf("fakedb: cannot use %T as an integer", v)
}

func textInt(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("fakedb: %q is not a number", s)
	}
	return int64(x), nil
}

// toFloat converts an argument where a number of seconds is expected. ok is
// false for NULL.
func toFloat(v any) (x float64, ok bool, err error) {
	switch t := v.(type) {
	case nil:
		return 0, false, nil
	case float64:
		return t, true, nil
	case string:
		x, err = strconv.ParseFloat(strings.TrimSpace(t), 64)
		return x, err == nil, err
	case []byte:
		x, err = strconv.ParseFloat(strings.TrimSpace(string(t)), 64)
		return x, err == nil, err
	}
	rv := reflect.ValueOf(v)
	if k := rv.Kind(); k == reflect.Float32 || k == reflect.Float64 {
		return rv.Float(), true, nil
	}
	n, err := toInt(v)
	return float64(n), err == nil, err
}

// toText converts an argument where text is expected. ok is false for NULL.
func toText(v any) (string, bool) {
	switch t := v.(type) {
	case nil:
		return "", false
	case string:
		return t, true
	case []byte:
		return string(t), true
	}
	return fmt.Sprint(v), true
}

// myErr returns a server error as the MySQL driver reports it.
func myErr(num uint16, state, msg string) *mysql.MySQLError {
	e := &mysql.MySQLError{Number: num, Message: msg}
	copy(e.SQLState[:], state)
	return e
}

// syntaxErr is error 1064 near text.
func syntaxErr(text string) *mysql.MySQLError {
	return myErr(1064, "42000", "You have an error in your SQL syntax near '"+text+"'")
}
