package io.shopmesh.mesh.proxy.listener;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.Test;

/** The TLS and HTTP inspectors on a real ClientHello (the JDK's) and on plain text. */
class TlsInspectorTest {

  static byte[] clientHello(String sni, String... alpn) throws Exception {
    SSLEngine e = SSLContext.getDefault().createSSLEngine();
    e.setUseClientMode(true);
    SSLParameters p = e.getSSLParameters();
    if (sni != null) {
      p.setServerNames(List.of(new SNIHostName(sni)));
    }
    p.setApplicationProtocols(alpn);
    e.setSSLParameters(p);
    ByteBuffer out = ByteBuffer.allocate(64 * 1024);
    e.beginHandshake();
    e.wrap(ByteBuffer.allocate(0), out);
    out.flip();
    byte[] b = new byte[out.remaining()];
    out.get(b);
    return b;
  }

  @Test
  void readsSniAndAlpnOfAClientHello() throws Exception {
    byte[] hello = clientHello("shop.example.com", "h2", "http/1.1");
    TlsInspector.Result r = TlsInspector.inspect(hello, hello.length);
    assertThat(r.state()).isEqualTo(TlsInspector.State.TLS);
    assertThat(r.serverName()).isEqualTo("shop.example.com");
    assertThat(r.alpn()).containsExactly("h2", "http/1.1");
  }

  @Test
  void withoutSniTheNameIsEmpty() throws Exception {
    byte[] hello = clientHello(null);
    TlsInspector.Result r = TlsInspector.inspect(hello, hello.length);
    assertThat(r.state()).isEqualTo(TlsInspector.State.TLS);
    assertThat(r.serverName()).isEmpty();
    assertThat(r.alpn()).isEmpty();
  }

  @Test
  void aPartialHelloNeedsMoreBytes() throws Exception {
    byte[] hello = clientHello("a.example.com");
    for (int n : new int[] {1, 3, 5, 40, hello.length - 1}) {
      assertThat(TlsInspector.inspect(hello, n).state())
          .as("%d bytes", n)
          .isEqualTo(TlsInspector.State.NEED_MORE);
    }
  }

  @Test
  void aHelloSplitOverTwoRecordsIsRead() throws Exception {
    byte[] hello = clientHello("split.example.com", "h2");
    int body = hello.length - 5;
    int first = body / 2;
    byte[] two = new byte[hello.length + 5];
    System.arraycopy(hello, 0, two, 0, 5 + first);
    two[3] = (byte) (first >> 8);
    two[4] = (byte) first;
    int rest = body - first;
    two[5 + first] = 22;
    two[6 + first] = hello[1];
    two[7 + first] = hello[2];
    two[8 + first] = (byte) (rest >> 8);
    two[9 + first] = (byte) rest;
    System.arraycopy(hello, 5 + first, two, 10 + first, rest);
    TlsInspector.Result r = TlsInspector.inspect(two, two.length);
    assertThat(r.state()).isEqualTo(TlsInspector.State.TLS);
    assertThat(r.serverName()).isEqualTo("split.example.com");
    assertThat(TlsInspector.inspect(two, 7 + first).state())
        .isEqualTo(TlsInspector.State.NEED_MORE);
  }

  @Test
  void plainTextIsRawBufferAndTheHttpInspectorSaysWhich() {
    byte[] http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    assertThat(TlsInspector.inspect(http, http.length).state())
        .isEqualTo(TlsInspector.State.NOT_TLS);
    assertThat(HttpInspector.inspect(http, http.length)).containsExactly("http/1.1");
    assertThat(HttpInspector.inspect(http, 5)).isNull();
    byte[] h2 = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    assertThat(HttpInspector.inspect(h2, h2.length)).containsExactly("h2c");
    byte[] redis = "*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII);
    assertThat(TlsInspector.inspect(redis, redis.length).state())
        .isEqualTo(TlsInspector.State.NOT_TLS);
    assertThat(HttpInspector.inspect(redis, redis.length)).isEmpty();
  }

  @Test
  void aHelloOverTheLimitIsAnError() {
    byte[] huge = new byte[8];
    huge[0] = 22;
    huge[1] = 3;
    huge[2] = 1;
    huge[3] = 0x40;
    huge[4] = 0;
    huge[5] = 1;
    huge[6] = 0x02; // body length 0x020000 = 128 KiB
    byte[] b = Arrays.copyOf(huge, 10);
    assertThat(TlsInspector.inspect(b, b.length).state()).isEqualTo(TlsInspector.State.ERROR);
  }
}
