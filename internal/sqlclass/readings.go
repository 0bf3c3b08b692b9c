package sqlclass

// This file holds the alternative readings: a query whose meaning depends on
// SQL modes or on the server's flavour and version is classified once per
// reading.

// otherReadings classifies query in every other way a server may read it,
// as noted by the main reading's lexer: with backslash escapes off
// (NO_BACKSLASH_ESCAPES, ANSI_QUOTES) when a backslash escaped a quote, and,
// when version-conditional comments appear, as a MySQL or MariaDB server of
// every version that makes a difference. ok reports whether every reading
// allows a replica or is one the server rejects outright (an unterminated
// string, say); write whether some reading may write; session whether some
// reading may leave state on the connection; reason why not ok.
// This runs only for queries with such escapes or comments. When the main
// reading assumes a flavour, only servers of that flavour are considered;
// excl is passed on to every reading (see Flavor.exclude).
func (c *Classifier) otherReadings(query string, main *lexer, excl wordFlags) (ok, write, session bool, reason string) {
	if main.manyVers {
		return false, true, true, reasonVersions
	}
	escapes := [...]reading{{}, {noEscSingle: true, noEscDouble: true}, {noEscDouble: true}}
	nEsc := 1
	if main.escSingle || main.escDouble {
		nEsc = 2
	}
	if main.escDouble {
		nEsc = 3
	}
	flavours := []flavour{main.rd.flavour}
	if main.sawCond && main.rd.flavour == anyFlavour {
		flavours = []flavour{mysqlFlavour, mariadbFlavour}
	}
	ok = true
	for e := 0; e < nEsc; e++ {
		for _, f := range flavours {
			for v := -1; v < main.nVersions; v++ {
				if f == anyFlavour && v >= 0 {
					break // the main reading runs every comment
				}
				rd := escapes[e]
				rd.flavour = f
				if v >= 0 {
					if main.versions[v] == 0 {
						continue // no server is older than version 0
					}
					rd.below, rd.hasBelow = main.versions[v], true
				}
				if rd == main.rd {
					continue // the main reading
				}
				var alt state
				alt.init(c, query, rd, excl)
				alt.run()
				altOK, altWrite, _ := alt.verdict(true)
				altSession := alt.sessionVerdict(true)
				if alt.lx.sawCond && !versionsCovered(&alt.lx, main) {
					// A conditional comment that only this reading exposes:
					// the readings skipping it were never tried.
					altOK, altWrite, altSession = false, true, true
				}
				write = write || altWrite
				session = session || altSession
				if !altOK && ok {
					ok, reason = false, reasonVersion
					if e > 0 {
						reason = reasonEscape
					}
				}
			}
		}
	}
	return ok, write, session, reason
}

func versionsCovered(alt, main *lexer) bool {
	if !main.sawCond || alt.manyVers {
		return false
	}
	for _, v := range alt.versions[:alt.nVersions] {
		found := false
		for _, w := range main.versions[:main.nVersions] {
			found = found || v == w
		}
		if !found {
			return false
		}
	}
	return true
}
