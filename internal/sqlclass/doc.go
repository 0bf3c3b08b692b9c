// Package sqlclass classifies MySQL and MariaDB statements for read/write
// splitting: may a statement run on a replica, and may it change data?
//
// The rule is "when in doubt, primary". A statement is sent to a replica only
// when it is provably a read that does not depend on the session: a single
// SELECT (or WITH ... SELECT, TABLE, VALUES, a parenthesised query or a set
// operation over queries), a whitelisted SHOW, DESCRIBE, EXPLAIN of a query
// or HELP, with no locking clause, no INTO, no SQL_CALC_FOUND_ROWS, no
// PROCEDURE clause, no user variable, no session-bound system variable, no
// side-effect or session-bound function (MariaDB's Oracle-mode SQL%ROWCOUNT
// included), no table of information_schema or performance_schema that
// describes the connection (SESSION_VARIABLES, PROFILING ...), no sequence
// access and no call of a function that is not a known built-in (it may be a
// stored function that writes) unless the caller declared it pure. Which
// names are built-ins depends on the server: ClassifyFlavor takes the
// flavour, and Classify, which does not know it, takes a name for a built-in
// only if both flavours have it. Everything else, including
// anything the classifier cannot read with certainty (unterminated strings or
// comments, comment boundaries that depend on the server version, text that
// NO_BACKSLASH_ESCAPES would read as something else than a plain read or a
// syntax error, stray characters, deep nesting), goes to the primary.
//
// The classifier is a real lexer over MySQL/MariaDB syntax, not a set of
// regular expressions: strings, quoted identifiers and comments are skipped
// exactly as the server skips them, the content of executable comments
// (/*!50700 ... */, /*M!100100 ... */) is read as SQL, and words are
// keywords only where the server treats them as keywords. Where servers may
// read the same text differently, every reading is classified and all must
// allow a replica: with and without NO_BACKSLASH_ESCAPES and ANSI_QUOTES
// (when a backslash escapes a quote), and as MySQL and MariaDB servers of
// each version a version-conditional comment names.
//
// A comment whose text is exactly "rwsplit:primary" forces the primary;
// "rwsplit:replica" lets a plain query whose only obstacle is unknown
// functions go to a replica.
//
// Limits that no classifier of the text can lift: a view or a trigger may
// hide a stored function, and a temporary table exists only on the session
// that created it. The connection character set must be utf8mb4, utf8mb3,
// ascii or latin1: in GBK, Big5, SJIS, CP932 or GB18030 a multi-byte
// character may end in a backslash or quote byte, and other single-byte sets
// may read more non-ASCII bytes as spaces than latin1's 0xA0, which the
// classifier refuses outside strings and comments. The lists of built-ins
// span MySQL 8.0.22 to 9.x and MariaDB 10.5 to 11.8: a stored function named
// like a built-in that the server's version does not have yet (say, a
// vector function on MySQL 8.0) is taken for the built-in.
//
// Result keeps two verdicts apart: Replica (may run on a replica) and Write
// (may change data or schema). A statement sent to the primary because it
// depends on the session is not a write. A third, Session, says whether the
// statement may leave state on its connection for later statements (SET,
// USE, LOCK TABLES, a temporary table, GET_LOCK, a user variable ...), so
// that a router lending connections statement by statement keeps that
// connection for its caller; it is conservative, like the others.
//
// Classify allocates nothing and is safe for concurrent use.
package sqlclass
