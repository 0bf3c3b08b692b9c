package sqlclass

// This file holds the tokenizer. It follows the MySQL/MariaDB lexer
// (sql/sql_lex.cc) closely where the two disagree with a naive reading of the
// grammar. Where servers may read the text in more than one way it either
// lexes one given reading (SQL modes that change strings, server flavour and
// version for conditional comments; Classify tries each) or reports an error
// (the classifier then sends the statement to the primary).
//
// The lexer never allocates: tokens are byte offsets into the query string.

// tokKind is the kind of a token.
type tokKind uint8

const (
	tkEOF     tokKind = iota
	tkWord            // unquoted identifier or keyword
	tkQuoted          // `backtick quoted identifier`
	tkString          // 'single' or "double" quoted string (an identifier under ANSI_QUOTES)
	tkNumber          // number, hex or bit literal, \N
	tkUserVar         // @name, @'name'
	tkSysVar          // @@name, @@scope.name
	tkParam           // ? placeholder
	tkLParen          // (
	tkRParen          // )
	tkComma           // ,
	tkSemi            // ;
	tkDot             // .
	tkAssign          // :=
	tkCmp             // comparison operator: a run of < > = ! containing < > or =
	tkOp              // any other operator or punctuation
	tkError           // the lexer failed; see lexer.err
)

// lexErr says why the lexer stopped.
type lexErr uint8

const (
	errNone         lexErr = iota
	errUnterminated        // string, quoted identifier or user variable name runs to the end of input
	errComment             // a /* comment is not closed
	errAmbiguous           // text servers may split differently (comment boundaries, "--" before a non-ASCII byte)
	errSyntax              // a byte that cannot start a token (control character, NUL, [ ] ...)
	errLiteral             // an X'..' or B'..' literal with a bad digit: the server rejects the statement
	errCharset             // a 0xA0 byte outside strings and comments: a space to latin1, part of a character to utf8mb4
)

// token is one lexical token; start and end are byte offsets into the query.
type token struct {
	start, end int
	kind       tokKind
	adj        bool      // nothing (no whitespace, no comment) separates it from the previous token
	qualified  bool      // it follows "name .": the last part of a qualified name
	tail       bool      // qualified, with no space around the dot
	identOnly  bool      // an unquoted word the server reads as an identifier, never as a keyword
	session    bool      // tkSysVar: the variable is session-bound
	id         kwID      // tkWord: keyword id, or kwNone
	fl         wordFlags // tkWord: keyword/function flags
}

// reading selects one of the ways a server may read the query: the
// SQL-mode-dependent string syntax, and the server flavour and version that
// decide which version-conditional comments run. The zero value is the main
// reading: backslash escapes on, every executable comment executed.
type reading struct {
	noEscSingle bool // no backslash escapes in '...' (NO_BACKSLASH_ESCAPES)
	noEscDouble bool // none in "..." (NO_BACKSLASH_ESCAPES, or ANSI_QUOTES: an identifier)
	flavour     flavour
	// below, if hasBelow, is the version of a server just too old for
	// comments of version below and above.
	below    uint64
	hasBelow bool
}

// flavour is the server flavour a reading assumes.
type flavour uint8

const (
	anyFlavour flavour = iota // the main reading: every conditional comment runs
	mysqlFlavour
	mariadbFlavour
)

// maxVersions bounds the distinct comment versions one query may use.
const maxVersions = 8

// lexer splits a query into tokens. Its zero value is not ready: use init.
type lexer struct {
	s   string
	pos int
	// vEnd is the offset of the "*/" that closes the executable comment
	// (/*! ... */ or /*M! ... */) being lexed, or -1 outside one.
	vEnd int
	rd   reading
	err  lexErr
	// noLookup skips the keyword lookup of words, for the rest of a
	// statement already known to go to the primary as a write.
	noLookup bool

	hintPrimary bool
	hintReplica bool

	// What the other readings could change, noted in the main reading.
	escSingle bool // a backslash escaped the quote of a '...' string
	escDouble bool // ... of a "..." string
	sawCond   bool // a comment that runs on some servers only
	nVersions int  // distinct versions of such comments, in versions[:nVersions]
	versions  [maxVersions]uint64
	manyVers  bool // more than maxVersions distinct versions
}

func (l *lexer) init(s string, rd reading) {
	l.s = s
	l.pos = 0
	l.vEnd = -1
	l.rd = rd
}

// Byte classes.
const (
	cIdent = 1 << iota // may appear in an unquoted identifier: [A-Za-z0-9_$] and bytes >= 0x80
	cDigit             // 0-9
	cSpace             // the whitespace the server skips between tokens
	cHex               // 0-9 a-f A-F
	cSkip              // may start whitespace or a comment: space, \t \n \r \v \f # - /
)

var byteClass = func() (t [256]uint8) {
	for b := 0; b < 256; b++ {
		c := byte(b)
		switch {
		case c == 0xa0:
			// Not an identifier byte: latin1 (and other single-byte
			// character sets) read it as a space, utf8mb4 as part of an
			// identifier. Outside strings and comments it makes the
			// query unparsable (primary).
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '$', c >= 0x80:
			t[b] |= cIdent
		case c >= '0' && c <= '9':
			t[b] |= cIdent | cDigit
		case c == ' ', c == '\t', c == '\n', c == '\r', c == '\v', c == '\f':
			t[b] |= cSpace
		}
		if (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') {
			t[b] |= cHex
		}
		if t[b]&cSpace != 0 || c == '#' || c == '-' || c == '/' {
			t[b] |= cSkip
		}
	}
	return t
}()

func isIdent(b byte) bool { return byteClass[b]&cIdent != 0 }
func isDigit(b byte) bool { return byteClass[b]&cDigit != 0 }

// next lexes the next token into t. After an error it keeps producing
// tkError; after the end of input it keeps producing tkEOF.
//
// This is the hot path of Classify. Tokens are filled in place, field by
// field (copying or building a struct of small fields costs store-forwarding
// stalls), and words and one-byte tokens are lexed here without a call.
func (l *lexer) next(t *token) {
	s := l.s
	p := l.pos
	t.qualified, t.tail, t.identOnly, t.session, t.id, t.fl = false, false, false, false, kwNone, 0
	if l.err != errNone {
		t.start, t.end, t.kind, t.adj = p, p, tkError, false
		return
	}
	before := p
	if p < len(s) {
		if s[p] == ' ' && l.vEnd < 0 && p+1 < len(s) && byteClass[s[p+1]]&cSkip == 0 {
			p++ // a single space between tokens
		} else if byteClass[s[p]]&cSkip != 0 || l.vEnd >= 0 {
			l.skip()
			p = l.pos
			if l.err != errNone {
				t.start, t.end, t.kind, t.adj = p, p, tkError, false
				return
			}
		}
	}
	t.start, t.end, t.kind, t.adj = p, p, tkEOF, p == before
	l.pos = p
	if p >= len(s) {
		if l.vEnd >= 0 { // cannot happen: skip stops at vEnd; kept for safety
			l.fail(t, errComment)
		}
		return
	}
	c := s[p]
	cls := startClass[c]
	if cls == scHexBit && !(p+1 < len(s) && s[p+1] == '\'') {
		cls = scWord // b, x: a word unless a quote follows
	}
	switch cls {
	case scWord:
		q := p + 1
		for q < len(s) && byteClass[s[q]]&cIdent != 0 {
			q++
		}
		if !l.noLookup {
			t.id, t.fl = lookupAt(s, p, q)
		}
		t.kind, t.end = tkWord, q
		l.pos = q
	case scSingle:
		t.kind, t.end = startKind[c], p+1
		l.pos = p + 1
	default:
		l.lex(t)
	}
	if l.vEnd >= 0 && t.end > l.vEnd && t.kind != tkError {
		// The token runs over the "*/" that closes an executable comment.
		// A server that skips the comment (version too high) ends it
		// there; one that executes it does not: ambiguous.
		l.fail(t, errAmbiguous)
	}
}

// skip skips whitespace and comments, recording rwsplit hints and entering
// or leaving executable comments.
func (l *lexer) skip() {
	s := l.s
	for l.pos < len(s) {
		if l.pos == l.vEnd {
			l.pos += 2 // the "*/" closing an executable comment
			l.vEnd = -1
			continue
		}
		c := s[l.pos]
		switch {
		case byteClass[c]&cSpace != 0:
			l.pos++
		case c == '#':
			l.lineComment(l.pos + 1)
		case c == '-' && l.pos+1 < len(s) && s[l.pos+1] == '-' &&
			(l.pos+2 >= len(s) || s[l.pos+2] <= ' ' || s[l.pos+2] >= 0x7f):
			// MySQL: "--" starts a comment only when followed by
			// whitespace or a control character (or the end of input).
			// Whether a non-ASCII byte is either depends on the
			// character set: refuse to guess.
			if l.pos+2 < len(s) && s[l.pos+2] >= 0x80 {
				l.err = errAmbiguous
				return
			}
			l.lineComment(l.pos + 2)
		case c == '/' && l.pos+1 < len(s) && s[l.pos+1] == '*':
			l.blockComment()
		default:
			return
		}
		if l.err != errNone {
			return
		}
	}
}

// lineComment skips a "#" or "-- " comment whose text starts at from.
func (l *lexer) lineComment(from int) {
	end := len(l.s)
	for i := from; i < len(l.s); i++ {
		if l.s[i] == '\n' {
			end = i
			break
		}
	}
	if l.vEnd >= 0 && end > l.vEnd {
		// Inside an executed /*! comment the line comment swallows the
		// "*/"; when the comment is skipped it does not.
		l.err = errAmbiguous
		return
	}
	text := l.s[from:end]
	if hasNUL(text) {
		l.err = errSyntax
		return
	}
	l.checkHint(text)
	l.pos = end
}

// blockComment skips a /* ... */ comment, or enters an executable comment.
func (l *lexer) blockComment() {
	if l.vEnd >= 0 {
		// A comment nested in an executable comment: the server's
		// reading depends on its version. Refuse to guess.
		l.err = errAmbiguous
		return
	}
	s := l.s
	body := l.pos + 2
	end := -1
	for i := body; i+1 < len(s); i++ {
		if s[i] == '*' && s[i+1] == '/' {
			end = i
			break
		}
	}
	if end < 0 {
		l.err = errComment
		return
	}
	text := s[body:end]
	switch {
	case len(text) > 0 && text[0] == '!':
		l.conditional(body+1, end, false)
		return
	case len(text) > 1 && (text[0] == 'M' || text[0] == 'm') && text[1] == '!':
		l.conditional(body+2, end, true)
		return
	case len(text) > 0 && text[0] == '+':
		// Optimizer hint. The server's hint scanner understands quoted
		// names, so a "*/" inside quotes would not end the comment.
		if !hintQuotesClosed(text) {
			l.err = errAmbiguous
			return
		}
	default:
		if hasNUL(text) {
			l.err = errSyntax
			return
		}
		l.checkHint(text)
	}
	l.pos = end + 2
}

// conditional handles /*!NNNNN ... */ (MySQL and MariaDB) and /*M!NNNNNN
// ... */ (MariaDB only), whose content from..end is SQL for a server that
// runs it. Which servers do depends on flavour and version, so Classify
// reads the query once per possibility (see reading); this lexes one of
// them, following sql_lex.cc of each flavour:
//
//   - MySQL reads exactly 5 version digits and runs the comment if its
//     version is not above the server's; /*M! is a plain comment to it.
//   - MariaDB reads 5 or 6 digits, runs /*M! comments as MySQL runs /*!
//     ones, but skips /*! comments of MySQL 5.7+ versions (50700-99999).
//   - With fewer than 5 digits the comment is not versioned: every server
//     runs it, digits included.
//
// A running comment's content is lexed as SQL; next() rejects any token
// that runs over the comment's first "*/", where a server skipping the
// comment ends it. A skipped comment must not contain "/*": the server
// allows one nested comment there (consume_comment).
func (l *lexer) conditional(from, end int, mariadb bool) {
	s := l.s
	if mariadb {
		l.sawCond = true
		if l.rd.flavour == mysqlFlavour {
			l.pos = end + 2 // a plain comment
			return
		}
	}
	digits := 0
	for from+digits < end && digits < 6 && isDigit(s[from+digits]) {
		digits++
	}
	if digits < 5 { // not versioned: runs everywhere
		l.pos = from
		l.vEnd = end
		return
	}
	six := false
	if digits == 6 && l.rd.flavour != mariadbFlavour {
		// MySQL 8.1+ reads six digits when a space follows; 8.0 five.
		six = from+6 < end && byteClass[s[from+6]]&cSpace != 0
		l.noteVersion(80100)
		if l.rd.flavour == mysqlFlavour && (!six || (l.rd.hasBelow && l.rd.below <= 80100)) {
			digits = 5 // the sixth digit is SQL to MySQL 8.0
		}
	}
	var version uint64
	for _, c := range []byte(s[from : from+digits]) {
		version = version*10 + uint64(c-'0')
	}
	l.sawCond = true
	l.noteVersion(version)
	if digits == 6 {
		l.noteVersion(version / 10) // MySQL's reading of the same digits
	}
	run := true
	switch l.rd.flavour {
	case mysqlFlavour:
		run = !l.rd.hasBelow || version < l.rd.below
	case mariadbFlavour:
		run = (!l.rd.hasBelow || version < l.rd.below) && (mariadb || version < 50700 || version > 99999 || version == 99997)
	}
	if run {
		l.pos = from + digits
		l.vEnd = end
		return
	}
	for i := from; i+1 < end; i++ {
		if s[i] == '/' && s[i+1] == '*' {
			l.err = errAmbiguous
			return
		}
	}
	l.pos = end + 2
}

// noteVersion records a comment version for the alternative readings.
func (l *lexer) noteVersion(v uint64) {
	for _, w := range l.versions[:l.nVersions] {
		if w == v {
			return
		}
	}
	if l.nVersions == maxVersions {
		l.manyVers = true
		return
	}
	l.versions[l.nVersions] = v
	l.nVersions++
}

// checkHint records a rwsplit hint if the comment text is one.
func (l *lexer) checkHint(text string) {
	i, j := 0, len(text)
	for i < j && byteClass[text[i]]&cSpace != 0 {
		i++
	}
	for j > i && byteClass[text[j-1]]&cSpace != 0 {
		j--
	}
	text = text[i:j]
	switch {
	case foldEqual(text, "rwsplit:primary"):
		l.hintPrimary = true
	case foldEqual(text, "rwsplit:replica"):
		l.hintReplica = true
	}
}

// hintQuotesClosed reports whether the text of an optimizer hint comment
// (up to its first "*/") ends outside quotes however the hint scanner
// reads them: whichever of ' " ` it takes for quotes (a doubled quote
// stands for itself), every quoted span closes within the text. Backslashes
// and NUL bytes, whose reading is less certain, make it false when the
// text has a quote at all.
func hintQuotesClosed(text string) bool {
	quotes := false
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '\'', '"', '`':
			quotes = true
		case 0:
			return false
		}
	}
	if !quotes {
		return true
	}
	for i := 0; i < len(text); i++ {
		if text[i] == '\\' {
			return false
		}
	}
	// Each of the 7 non-empty sets of quote characters the scanner may
	// honour.
	const quoteChars = "'\"`"
	for set := 1; set < 8; set++ {
		var open byte
		for i := 0; i < len(text); i++ {
			c := text[i]
			switch {
			case open != 0:
				if c == open {
					open = 0
				}
			default:
				for k := 0; k < 3; k++ {
					if set&(1<<k) != 0 && c == quoteChars[k] {
						open = c
					}
				}
			}
		}
		if open != 0 {
			return false
		}
	}
	return true
}

func hasNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// foldEqual reports whether s equals lower, ignoring ASCII case. lower must
// be lower case.
func foldEqual(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// Start classes: what the first byte of a token says about it. Bytes that
// alone make a token map to that token's kind (see startKind).
const (
	scInvalid   uint8 = iota // cannot start a token
	scWord                   // letter, _, $, byte >= 0x80
	scHexBit                 // x X b B: a word, or X'..' / B'..'
	scDigit                  // 0-9
	scString                 // ' "
	scQuoted                 // `
	scAt                     // @
	scColon                  // : or :=
	scCmp                    // < > = !
	scBackslash              // \N
	scSingle                 // a one-byte token; its kind is startKind[c]
	scCharset                // 0xA0: see errCharset
)

var startClass, startKind = func() (class [256]uint8, kind [256]tokKind) {
	for b := 0; b < 256; b++ {
		c := byte(b)
		switch {
		case c == 'x' || c == 'X' || c == 'b' || c == 'B':
			class[b] = scHexBit
		case c >= '0' && c <= '9':
			class[b] = scDigit
		case byteClass[b]&cIdent != 0:
			class[b] = scWord
		}
	}
	class['\''], class['"'], class['`'], class['@'] = scString, scString, scQuoted, scAt
	class[0xa0] = scCharset
	class[':'], class['\\'] = scColon, scBackslash
	for _, c := range []byte("<>=!") {
		class[c] = scCmp
	}
	single := map[byte]tokKind{
		'(': tkLParen, ')': tkRParen, ',': tkComma, ';': tkSemi, '.': tkDot, '?': tkParam,
		'+': tkOp, '-': tkOp, '*': tkOp, '/': tkOp, '%': tkOp, '&': tkOp, '|': tkOp,
		'^': tkOp, '~': tkOp, '{': tkOp, '}': tkOp,
	}
	for c, k := range single {
		class[c], kind[c] = scSingle, k
	}
	return class, kind
}()

// lex lexes the token at l.pos (not whitespace, not a comment) into t,
// whose start is l.pos.
func (l *lexer) lex(t *token) {
	s := l.s
	p := l.pos
	c := s[p]
	switch startClass[c] {
	case scWord:
		l.lexWord(t)
	case scSingle:
		l.emit(t, startKind[c], p+1)
	case scHexBit:
		if p+1 < len(s) && s[p+1] == '\'' {
			l.lexHexBit(t, c == 'x' || c == 'X')
		} else {
			l.lexWord(t)
		}
	case scDigit:
		l.lexNumber(t)
	case scString:
		if end, ok := l.scanString(p); ok {
			l.emit(t, tkString, end)
		} else {
			l.fail(t, errUnterminated)
		}
	case scQuoted:
		if end, ok := l.scanQuoted(p); ok {
			l.emit(t, tkQuoted, end)
		} else {
			l.fail(t, errUnterminated)
		}
	case scAt:
		l.lexVar(t)
	case scColon:
		if p+1 < len(s) && s[p+1] == '=' {
			l.emit(t, tkAssign, p+2)
		} else {
			l.emit(t, tkOp, p+1)
		}
	case scCmp:
		q, cmp := p, false
		for q < len(s) && startClass[s[q]] == scCmp {
			cmp = cmp || s[q] != '!'
			q++
		}
		if cmp {
			l.emit(t, tkCmp, q)
		} else {
			l.emit(t, tkOp, q)
		}
	case scBackslash:
		if p+1 < len(s) && s[p+1] == 'N' { // \N is NULL
			l.emit(t, tkNumber, p+2)
		} else {
			l.fail(t, errSyntax)
		}
	case scCharset:
		l.fail(t, errCharset)
	default:
		l.fail(t, errSyntax)
	}
}

// emit completes t as a token of kind k ending at end.
func (l *lexer) emit(t *token, k tokKind, end int) {
	t.kind = k
	t.end = end
	l.pos = end
}

// fail turns t into an error token and stops the lexer.
func (l *lexer) fail(t *token, e lexErr) {
	l.err = e
	t.kind = tkError
	t.end = t.start
}

// lexWord lexes an unquoted identifier or keyword at l.pos (including
// identifiers that start with digits, such as 1abc).
func (l *lexer) lexWord(t *token) {
	s := l.s
	q := l.pos
	for q < len(s) && byteClass[s[q]]&cIdent != 0 {
		q++
	}
	if !l.noLookup {
		t.id, t.fl = lookupAt(s, l.pos, q)
	}
	l.emit(t, tkWord, q)
}

// lexNumber lexes a number; a run of identifier characters that starts with
// a digit but is not a number is an identifier, as in MySQL (e.g. 1abc).
func (l *lexer) lexNumber(t *token) {
	s := l.s
	p := l.pos
	q := p
	if s[p] == '0' && p+1 < len(s) && (s[p+1] == 'x' || s[p+1] == 'X' || s[p+1] == 'b' || s[p+1] == 'B') {
		hex := s[p+1] == 'x' || s[p+1] == 'X'
		q = p + 2
		for q < len(s) && ((hex && byteClass[s[q]]&cHex != 0) || (!hex && (s[q] == '0' || s[q] == '1'))) {
			q++
		}
		if q > p+2 && (q >= len(s) || !isIdent(s[q])) {
			l.emit(t, tkNumber, q)
		} else {
			l.lexWord(t)
		}
		return
	}
	for q < len(s) && isDigit(s[q]) {
		q++
	}
	if q < len(s) && isIdent(s[q]) && !isExponent(s, q) {
		l.lexWord(t)
		return
	}
	if q < len(s) && s[q] == '.' {
		q++
		for q < len(s) && isDigit(s[q]) {
			q++
		}
	}
	if isExponent(s, q) {
		q++
		if s[q] == '+' || s[q] == '-' {
			q++
		}
		for q < len(s) && isDigit(s[q]) {
			q++
		}
	}
	l.emit(t, tkNumber, q)
}

// isExponent reports whether s[q:] starts an exponent: e or E followed by a
// digit, or by a sign and a digit.
func isExponent(s string, q int) bool {
	if q >= len(s) || (s[q] != 'e' && s[q] != 'E') {
		return false
	}
	if q+1 < len(s) && isDigit(s[q+1]) {
		return true
	}
	return q+2 < len(s) && (s[q+1] == '+' || s[q+1] == '-') && isDigit(s[q+2])
}

// lexHexBit lexes X'0F' or B'0101'. These take no escapes; anything but the
// literal's digits before the closing quote is a server syntax error.
func (l *lexer) lexHexBit(t *token, hex bool) {
	s := l.s
	q := l.pos + 2
	for q < len(s) && s[q] != '\'' {
		if (hex && byteClass[s[q]]&cHex == 0) || (!hex && s[q] != '0' && s[q] != '1') {
			l.fail(t, errLiteral)
			return
		}
		q++
	}
	if q >= len(s) {
		l.fail(t, errUnterminated)
		return
	}
	l.emit(t, tkNumber, q+1)
}

// scanString returns the end (exclusive) of the quoted string starting at p.
// A doubled quote stands for itself; a backslash escapes the next byte
// unless the reading turns escapes off for this quote.
func (l *lexer) scanString(p int) (int, bool) {
	s := l.s
	quote := s[p]
	noEsc := l.rd.noEscSingle
	if quote == '"' {
		noEsc = l.rd.noEscDouble
	}
	for q := p + 1; q < len(s); q++ {
		switch s[q] {
		case '\\':
			if noEsc {
				continue
			}
			if q+1 < len(s) && s[q+1] == quote {
				if quote == '"' {
					l.escDouble = true
				} else {
					l.escSingle = true
				}
			}
			q++
		case quote:
			if q+1 < len(s) && s[q+1] == quote {
				q++
				continue
			}
			return q + 1, true
		}
	}
	return 0, false
}

// scanQuoted returns the end (exclusive) of the backtick-quoted identifier
// starting at p. A doubled backtick stands for itself; there are no escapes.
func (l *lexer) scanQuoted(p int) (int, bool) {
	s := l.s
	for q := p + 1; q < len(s); q++ {
		if s[q] == '`' {
			if q+1 < len(s) && s[q+1] == '`' {
				q++
				continue
			}
			return q + 1, true
		}
	}
	return 0, false
}

// lexVar lexes a user variable (@name, @'name', @`name`) or a system
// variable (@@name, @@global.name, @@session.name, @@local.name).
func (l *lexer) lexVar(t *token) {
	s := l.s
	p := l.pos
	if p+1 < len(s) && s[p+1] == '@' {
		l.lexSysVar(t)
		return
	}
	q := p + 1
	if q < len(s) && (s[q] == '\'' || s[q] == '"' || s[q] == '`') {
		var end int
		var ok bool
		if s[q] == '`' {
			end, ok = l.scanQuoted(q)
		} else {
			end, ok = l.scanString(q)
		}
		if !ok {
			l.fail(t, errUnterminated)
			return
		}
		l.emit(t, tkUserVar, end)
		return
	}
	for q < len(s) && (isIdent(s[q]) || s[q] == '.') {
		q++
	}
	l.emit(t, tkUserVar, q)
}

// lexSysVar lexes @@... and decides whether the variable is session-bound.
// Anything but the plain forms counts as session-bound (conservative).
func (l *lexer) lexSysVar(t *token) {
	s := l.s
	q := l.pos + 2
	if q >= len(s) || !isIdent(s[q]) {
		if q < len(s) && s[q] == '`' { // @@`name`: not worth understanding
			end, ok := l.scanQuoted(q)
			if !ok {
				l.fail(t, errUnterminated)
				return
			}
			q = end
		}
		t.session = true
		l.emit(t, tkSysVar, q)
		return
	}
	session, global, first := false, false, true
	for {
		r := q
		for r < len(s) && isIdent(s[r]) {
			r++
		}
		name := s[q:r]
		if first {
			switch {
			case foldEqual(name, "session"), foldEqual(name, "local"):
				session = true
			case foldEqual(name, "global"):
				global = true
			}
			first = false
		}
		if !global {
			if _, fl := lookupWord(name); fl&fSessionVar != 0 {
				session = true
			}
		}
		q = r
		if q+1 < len(s) && s[q] == '.' && isIdent(s[q+1]) {
			q++
			continue
		}
		break
	}
	t.session = session
	l.emit(t, tkSysVar, q)
}
