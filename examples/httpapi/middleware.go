package main

import (
	"net/http"
	"time"

	"github.com/rwsplit/rwsplit"
)

// TokenCookie and TokenHeader carry the causality token between requests.
const (
	TokenCookie = "rwsplit"
	TokenHeader = "X-Rwsplit-Token"
)

// Consistent is middleware that gives each request read-your-writes: it reads
// the client's token from the header or cookie (db.ParseToken), attaches a
// Session to the request's context with the given mode, and writes the
// session's token back (db.FormatToken, header and cookie) when the handler
// starts its response. The token crosses a trust boundary (the client), so
// db should sign it (rwsplit.WithTokenKey): a malformed, altered or made-up
// token is the client's error: 400, and nothing waits on it.
func Consistent(db *rwsplit.DB, mode rwsplit.Consistency, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.Header.Get(TokenHeader)
		if raw == "" {
			if c, err := r.Cookie(TokenCookie); err == nil {
				raw = c.Value
			}
		}
		tok, err := db.ParseToken(raw)
		if err != nil {
			http.Error(w, "bad consistency token", http.StatusBadRequest)
			return
		}
		sess := rwsplit.NewSession(tok)
		ctx := rwsplit.WithConsistency(rwsplit.WithSession(r.Context(), sess), mode)
		next.ServeHTTP(&tokenWriter{ResponseWriter: w, db: db, sess: sess}, r.WithContext(ctx))
	})
}

// tokenWriter adds the session's token to the response headers just before
// they are sent, after the handler's writes.
type tokenWriter struct {
	http.ResponseWriter
	db   *rwsplit.DB
	sess *rwsplit.Session
	sent bool
}

func (w *tokenWriter) WriteHeader(code int) {
	if !w.sent {
		w.sent = true
		if s := w.db.FormatToken(w.sess.Token()); s != "" {
			w.Header().Set(TokenHeader, s)
			http.SetCookie(w.ResponseWriter, &http.Cookie{
				Name: TokenCookie, Value: s, Path: "/", HttpOnly: true,
				SameSite: http.SameSiteLaxMode, MaxAge: int((10 * time.Minute).Seconds()),
			})
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *tokenWriter) Write(b []byte) (int, error) {
	if !w.sent {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}
