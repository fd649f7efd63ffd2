// A JSSE (the JDK's TLS) end of a TLS 1.3 mutual-TLS exchange on 127.0.0.1, configured the
// way JVM services (Kafka, Elasticsearch, Spring) are: a PKCS#12 keystore with the private
// key and chain, and a PKCS#12 truststore with the CA.
//
//   java MtlsCheck server KEYSTORE TRUSTSTORE PASSWORD
//       binds 127.0.0.1:0, prints "port N", requires a client certificate, reads "ping?",
//       answers "pong!".
//   java MtlsCheck client KEYSTORE TRUSTSTORE PASSWORD PORT HOST
//       connects to 127.0.0.1:PORT, verifies the server certificate for HOST (HTTPS
//       endpoint identification), sends "ping?", expects "pong!".
//
// Exit 0: the exchange completed (prints "ok PROTOCOL SUITE"); 1: TLS rejected it; 2: setup.
// Written for otel-pki's tests (tests/integration/keystore.rs); compiled with javac there.

import java.io.FileInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

public final class MtlsCheck {
    private static final String[] TLS13 = {"TLSv1.3"};

    public static void main(String[] args) {
        try {
            if (args.length == 4 && args[0].equals("server")) {
                server(context(args[1], args[2], args[3]));
            } else if (args.length == 6 && args[0].equals("client")) {
                client(context(args[1], args[2], args[3]), Integer.parseInt(args[4]), args[5]);
            } else {
                System.err.println("usage: MtlsCheck server KS TS PASS | client KS TS PASS PORT HOST");
                System.exit(2);
            }
        } catch (SSLException e) {
            System.err.println("TLS rejected: " + e);
            System.exit(1);
        } catch (Exception e) {
            System.err.println("setup: " + e);
            System.exit(2);
        }
    }

    private static SSLContext context(String keystore, String truststore, String password)
            throws Exception {
        char[] secret = password.toCharArray();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(keystore)) {
            keys.load(in, secret);
        }
        KeyStore trust = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(truststore)) {
            trust.load(in, secret);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, secret);
        TrustManagerFactory tmf =
                TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return context;
    }

    private static void server(SSLContext context) throws Exception {
        try (SSLServerSocket listener = (SSLServerSocket) context.getServerSocketFactory()
                .createServerSocket()) {
            listener.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
            listener.setEnabledProtocols(TLS13);
            listener.setNeedClientAuth(true);
            System.out.println("port " + listener.getLocalPort());
            System.out.flush();
            try (SSLSocket socket = (SSLSocket) listener.accept()) {
                socket.setSoTimeout(20000);
                byte[] request = readFully(socket.getInputStream(), 5);
                if (!new String(request, StandardCharsets.US_ASCII).equals("ping?")) {
                    throw new IllegalStateException("wrong request");
                }
                OutputStream out = socket.getOutputStream();
                out.write("pong!".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                report(socket);
            }
        }
    }

    private static void client(SSLContext context, int port, String host) throws Exception {
        Socket plain = new Socket();
        plain.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 10000);
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory()
                .createSocket(plain, host, port, true)) {
            socket.setSoTimeout(20000);
            socket.setEnabledProtocols(TLS13);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            socket.setSSLParameters(parameters);
            OutputStream out = socket.getOutputStream();
            out.write("ping?".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            byte[] reply = readFully(socket.getInputStream(), 5);
            if (!new String(reply, StandardCharsets.US_ASCII).equals("pong!")) {
                throw new IllegalStateException("wrong reply");
            }
            report(socket);
        }
    }

    private static byte[] readFully(InputStream in, int length) throws Exception {
        byte[] buffer = new byte[length];
        int read = 0;
        while (read < length) {
            int n = in.read(buffer, read, length - read);
            if (n < 0) {
                throw new SSLException("connection closed after " + read + " bytes");
            }
            read += n;
        }
        return buffer;
    }

    private static void report(SSLSocket socket) {
        System.out.println("ok " + socket.getSession().getProtocol() + " "
                + socket.getSession().getCipherSuite());
    }
}
