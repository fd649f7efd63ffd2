// mtls_check: mutual-TLS interoperability check for otel-pki certificate sets,
// using only Go's standard library TLS stack (the one inside the OpenTelemetry
// Collector's configtls: client_ca_file => tls.RequireAndVerifyClientCert).
//
// Usage:
//
//	mtls_check -dir DIR [-mode both|server|client] [-host NAME] [-port N]
//	           [-ca F] [-server-cert F] [-server-key F]
//	           [-client-cert F] [-client-key F] [-no-client-cert]
//	           [-tls 1.2|1.3|any] [-ping STR] [-pong STR] [-timeout 10s]
//
// Modes:
//
//	both    Go server and Go client in one process over 127.0.0.1 (ephemeral port).
//	server  Go server only: listens on 127.0.0.1:PORT (-port 0 = ephemeral), prints
//	        "LISTENING 127.0.0.1:<port>" on stdout, serves exactly ONE connection.
//	client  Go client only: dials 127.0.0.1:PORT (-port required).
//
// Protocol after the handshake: client writes "ping\n", server answers "pong\n"
// (-ping/-pong change the two lines; e.g. -pong gnip against "openssl s_server -rev").
// Under TLS 1.3 the server rejects a client certificate after the client's
// handshake has finished, so the client only sees it on its first read.
//
// Exit status: 0 success; 1 handshake/verification/data failure (the Go error on
// ONE line on stderr, prefixed "FAIL"); 2 usage or setup error, i.e. no TLS
// verdict (bad flags, missing or unparseable PEM files, key not matching its
// certificate, cannot listen, nobody to dial, nobody connected); one line on
// stderr prefixed "USAGE". A negative test should assert exit status == 1.
// On success one line "OK ..." goes to stdout.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

type usageError struct{ error }

type config struct {
	mode, host, tlsVer  string
	port                int
	ca, srvCert, srvKey string
	cliCert, cliKey     string
	noClientCert        bool
	ping, pong          string
	timeout             time.Duration
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func usagef(format string, a ...interface{}) error {
	return usageError{fmt.Errorf(format, a...)}
}

func loadPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("reading CA file: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, usagef("no PEM certificate could be parsed from %s", path)
	}
	return pool, nil
}

func loadPair(cert, key string) (tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return c, usagef("loading key pair %s + %s: %v", cert, key, err)
	}
	return c, nil
}

func versions(v string) (min, max uint16, err error) {
	switch v {
	case "", "any":
		return tls.VersionTLS12, tls.VersionTLS13, nil
	case "1.2":
		return tls.VersionTLS12, tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, tls.VersionTLS13, nil
	}
	return 0, 0, usagef("-tls must be 1.2, 1.3 or any, got %q", v)
}

func serverTLS(c *config) (*tls.Config, error) {
	pool, err := loadPool(c.ca)
	if err != nil {
		return nil, err
	}
	pair, err := loadPair(c.srvCert, c.srvKey)
	if err != nil {
		return nil, err
	}
	min, max, err := versions(c.tlsVer)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   min,
		MaxVersion:   max,
	}, nil
}

func clientTLS(c *config) (*tls.Config, error) {
	pool, err := loadPool(c.ca)
	if err != nil {
		return nil, err
	}
	min, max, err := versions(c.tlsVer)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		RootCAs:    pool,
		ServerName: c.host, // an IP literal here is verified against IP SANs
		MinVersion: min,
		MaxVersion: max,
	}
	if !c.noClientCert {
		pair, err := loadPair(c.cliCert, c.cliKey)
		if err != nil {
			return nil, err
		}
		// Always send the configured certificate. Go's default selection
		// (Certificates + CertificateRequestInfo.SupportsCertificate) would
		// silently send NO certificate when it does not chain to one of the
		// server's advertised CAs, so a wrong-CA client cert would never reach
		// the server's verifier. OpenSSL/BoringSSL/rustls clients send it.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &pair, nil
		}
	}
	return cfg, nil
}

// versionName: tls.VersionName only exists from Go 1.21; Debian bookworm has 1.19.
func versionName(v uint16) string {
	switch v {
	case tls.VersionTLS12:
		return "TLS1.2"
	case tls.VersionTLS13:
		return "TLS1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

func describe(st tls.ConnectionState) string {
	peer := "-"
	if len(st.PeerCertificates) > 0 {
		peer = st.PeerCertificates[0].Subject.CommonName
	}
	return fmt.Sprintf("version=%s cipher=%s peer=%q", versionName(st.Version),
		tls.CipherSuiteName(st.CipherSuite), peer)
}

// serveOne accepts one connection on ln and runs the server side of the exchange.
func serveOne(ln net.Listener, cfg *tls.Config, c *config) (string, error) {
	timeout := c.timeout
	if tl, ok := ln.(*net.TCPListener); ok {
		tl.SetDeadline(time.Now().Add(timeout))
	}
	raw, err := ln.Accept()
	if err != nil {
		return "", usagef("accept (no peer connected): %v", err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(timeout))
	conn := tls.Server(raw, cfg)
	if err := conn.Handshake(); err != nil {
		return "", fmt.Errorf("handshake: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read: %w", err)
	}
	if line != c.ping+"\n" {
		return "", fmt.Errorf("read: unexpected data %q, want %q", line, c.ping+"\n")
	}
	if _, err := io.WriteString(conn, c.pong+"\n"); err != nil {
		return "", fmt.Errorf("write: %w", err)
	}
	desc := describe(conn.ConnectionState())
	conn.Close() // sends close_notify
	return desc, nil
}

// dialOne runs the client side of the exchange against addr.
func dialOne(addr string, cfg *tls.Config, c *config) (string, error) {
	timeout := c.timeout
	d := &net.Dialer{Timeout: timeout}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		return "", usagef("dial (no peer listening): %v", err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(timeout))
	conn := tls.Client(raw, cfg)
	if err := conn.Handshake(); err != nil {
		return "", fmt.Errorf("handshake: %w", err)
	}
	if _, err := io.WriteString(conn, c.ping+"\n"); err != nil {
		return "", fmt.Errorf("write: %w", err)
	}
	// TLS 1.3: a client certificate rejected by the server surfaces here.
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read: %w", err)
	}
	if line != c.pong+"\n" {
		return "", fmt.Errorf("read: unexpected data %q, want %q", line, c.pong+"\n")
	}
	desc := describe(conn.ConnectionState())
	conn.Close()
	return desc, nil
}

func listen(port int) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, usagef("listen: %v", err)
	}
	return ln, nil
}

func run(c *config) (string, error) {
	switch c.mode {
	case "server":
		cfg, err := serverTLS(c)
		if err != nil {
			return "", err
		}
		ln, err := listen(c.port)
		if err != nil {
			return "", err
		}
		defer ln.Close()
		fmt.Printf("LISTENING %s\n", ln.Addr())
		os.Stdout.Sync()
		desc, err := serveOne(ln, cfg, c)
		if err != nil {
			return "", fmt.Errorf("server: %w", err)
		}
		return "mode=server " + desc, nil

	case "client":
		if c.port <= 0 {
			return "", usagef("-mode client needs -port N (the peer's port on 127.0.0.1)")
		}
		cfg, err := clientTLS(c)
		if err != nil {
			return "", err
		}
		desc, err := dialOne(net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)), cfg, c)
		if err != nil {
			return "", fmt.Errorf("client: %w", err)
		}
		return "mode=client " + desc, nil

	case "both":
		scfg, err := serverTLS(c)
		if err != nil {
			return "", err
		}
		ccfg, err := clientTLS(c)
		if err != nil {
			return "", err
		}
		ln, err := listen(c.port)
		if err != nil {
			return "", err
		}
		defer ln.Close()
		type result struct {
			desc string
			err  error
		}
		sch := make(chan result, 1)
		go func() {
			d, e := serveOne(ln, scfg, c)
			sch <- result{d, e}
		}()
		cdesc, cerr := dialOne(ln.Addr().String(), ccfg, c)
		sres := <-sch
		switch {
		case sres.err != nil && cerr != nil:
			// The side that detected the problem is usually the more telling
			// error; report both on one line.
			return "", fmt.Errorf("server: %v; client: %v", sres.err, cerr)
		case sres.err != nil:
			return "", fmt.Errorf("server: %w", sres.err)
		case cerr != nil:
			return "", fmt.Errorf("client: %w", cerr)
		}
		return "mode=both client[" + cdesc + "] server[" + sres.desc + "]", nil
	}
	return "", usagef("-mode must be both, server or client, got %q", c.mode)
}

func main() {
	c := &config{}
	fs := flag.NewFlagSet("mtls_check", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	dir := fs.String("dir", "", "directory holding ca.crt server.crt server.key client.crt client.key")
	fs.StringVar(&c.mode, "mode", "both", "both | server | client")
	fs.StringVar(&c.host, "host", "localhost", "name the client verifies (ServerName; DNS name or IP literal)")
	fs.IntVar(&c.port, "port", 0, "server: port to listen on 127.0.0.1 (0 = ephemeral); client: port to dial on 127.0.0.1")
	fs.StringVar(&c.ca, "ca", "", "CA certificate (default DIR/ca.crt)")
	fs.StringVar(&c.srvCert, "server-cert", "", "server certificate (default DIR/server.crt)")
	fs.StringVar(&c.srvKey, "server-key", "", "server key (default DIR/server.key)")
	fs.StringVar(&c.cliCert, "client-cert", "", "client certificate (default DIR/client.crt)")
	fs.StringVar(&c.cliKey, "client-key", "", "client key (default DIR/client.key)")
	fs.BoolVar(&c.noClientCert, "no-client-cert", false, "client presents no certificate (negative test)")
	fs.StringVar(&c.ping, "ping", "ping", "line the client sends after the handshake")
	fs.StringVar(&c.pong, "pong", "pong", "line the server answers (use -pong gnip against 'openssl s_server -rev')")
	fs.StringVar(&c.tlsVer, "tls", "any", "TLS version: 1.2, 1.3 or any")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "bound on every network wait (max 10s)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(exitUsage)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "USAGE unexpected arguments: %v\n", fs.Args())
		os.Exit(exitUsage)
	}
	if c.timeout <= 0 || c.timeout > 10*time.Second {
		c.timeout = 10 * time.Second
	}
	def := func(p *string, name string) {
		if *p == "" && *dir != "" {
			*p = filepath.Join(*dir, name)
		}
	}
	def(&c.ca, "ca.crt")
	def(&c.srvCert, "server.crt")
	def(&c.srvKey, "server.key")
	def(&c.cliCert, "client.crt")
	def(&c.cliKey, "client.key")
	for _, p := range []struct{ flag, v string }{{"-ca", c.ca}, {"-server-cert", c.srvCert}, {"-server-key", c.srvKey}, {"-client-cert", c.cliCert}, {"-client-key", c.cliKey}} {
		if p.v == "" {
			needed := p.flag == "-ca" ||
				(strings.HasPrefix(p.flag, "-server") && c.mode != "client") ||
				(strings.HasPrefix(p.flag, "-client") && c.mode != "server" && !c.noClientCert)
			if needed {
				fmt.Fprintf(os.Stderr, "USAGE %s not set and no -dir given\n", p.flag)
				os.Exit(exitUsage)
			}
		}
	}

	out, err := run(c)
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(os.Stderr, "USAGE %s\n", oneLine(err.Error()))
			os.Exit(exitUsage)
		}
		fmt.Fprintf(os.Stderr, "FAIL %s\n", oneLine(err.Error()))
		os.Exit(exitFail)
	}
	fmt.Printf("OK %s\n", out)
	os.Exit(exitOK)
}
