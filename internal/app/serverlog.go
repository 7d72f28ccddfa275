package app

import (
	"log"
	"log/slog"
	"regexp"
)

// netAddr matches the addresses net/http's server writes into its error log
// ("http: TLS handshake error from 81.2.69.142:51234: ...", "http2: server
// connection error from [2a02:8108::1]:443: ...", "http: panic serving ..."):
// IPv4 or bracketed IPv6 with a port.
var netAddr = regexp.MustCompile(`\[[0-9A-Za-z:.%_-]+\]:\d+|\b\d{1,3}(?:\.\d{1,3}){3}:\d+\b`)

// serverErrorLog is the http.Server's ErrorLog: its lines as warnings in the
// structured log, with every address replaced. A client's IP address is
// personal data that Accord stores nowhere, and on a public port TLS handshake
// errors from scanners come by the thousand.
func serverErrorLog(h slog.Handler) *log.Logger {
	return log.New(addrRedactor{slog.NewLogLogger(h, slog.LevelWarn)}, "", 0)
}

type addrRedactor struct{ out *log.Logger }

func (r addrRedactor) Write(p []byte) (int, error) {
	r.out.Print(netAddr.ReplaceAllString(string(p), "<redacted:ip>"))
	return len(p), nil
}
