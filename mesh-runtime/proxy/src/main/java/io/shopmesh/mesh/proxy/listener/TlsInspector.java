package io.shopmesh.mesh.proxy.listener;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Envoy's {@code envoy.filters.listener.tls_inspector}: looks at the first bytes of a connection
 * without consuming them and, when they are a TLS ClientHello, gives its SNI and ALPN; the
 * connection's transport protocol is then {@code tls}, else {@code raw_buffer}. The ClientHello may
 * span several TLS records. As Envoy's, it reads at most {@link #MAX_CLIENT_HELLO} bytes: a larger
 * hello closes the connection.
 */
public final class TlsInspector {
  /** Envoy's default max_client_hello_size (64 KiB). */
  public static final int MAX_CLIENT_HELLO = 64 * 1024;

  private static final int HANDSHAKE = 22;
  private static final int CLIENT_HELLO = 1;
  private static final int EXT_SERVER_NAME = 0;
  private static final int EXT_ALPN = 16;

  /** What the bytes seen so far say. */
  public enum State {
    /** Not enough bytes yet. */
    NEED_MORE,
    /** Not TLS: raw_buffer. */
    NOT_TLS,
    /** A ClientHello: tls, with the SNI (or "") and ALPN. */
    TLS,
    /** A ClientHello larger than the limit, or a malformed one: close. */
    ERROR
  }

  /** The inspection's outcome. */
  public record Result(State state, String serverName, List<String> alpn) {
    static final Result NEED_MORE = new Result(State.NEED_MORE, "", List.of());
    static final Result NOT_TLS = new Result(State.NOT_TLS, "", List.of());
    static final Result ERROR = new Result(State.ERROR, "", List.of());
  }

  private TlsInspector() {}

  /** Inspects the first {@code len} bytes of a connection. */
  public static Result inspect(byte[] data, int len) {
    if (len < 1) {
      return Result.NEED_MORE;
    }
    if ((data[0] & 0xff) != HANDSHAKE) {
      return Result.NOT_TLS;
    }
    if (len >= 2 && (data[1] & 0xff) != 3) {
      return Result.NOT_TLS;
    }
    // gather the handshake bytes of consecutive handshake records
    byte[] hs = new byte[Math.min(len, MAX_CLIENT_HELLO + 5)];
    int hsLen = 0;
    int pos = 0;
    while (true) {
      if (len - pos < 5) {
        return len > MAX_CLIENT_HELLO ? Result.ERROR : Result.NEED_MORE;
      }
      if ((data[pos] & 0xff) != HANDSHAKE || (data[pos + 1] & 0xff) != 3) {
        return pos == 0 ? Result.NOT_TLS : Result.ERROR;
      }
      int recLen = u16(data, pos + 3);
      if (recLen == 0 || recLen > 16384 + 2048) {
        return Result.ERROR;
      }
      int have = Math.min(recLen, len - pos - 5);
      if (hsLen + have > hs.length) {
        return Result.ERROR;
      }
      System.arraycopy(data, pos + 5, hs, hsLen, have);
      hsLen += have;
      if (hsLen >= 4) {
        if ((hs[0] & 0xff) != CLIENT_HELLO) {
          return Result.NOT_TLS;
        }
        int bodyLen = ((hs[1] & 0xff) << 16) | u16(hs, 2);
        if (bodyLen + 4 > MAX_CLIENT_HELLO) {
          return Result.ERROR;
        }
        if (hsLen >= bodyLen + 4) {
          return parseClientHello(hs, 4, 4 + bodyLen);
        }
      }
      if (have < recLen) {
        return Result.NEED_MORE;
      }
      pos += 5 + recLen;
    }
  }

  private static Result parseClientHello(byte[] b, int start, int end) {
    try {
      int p = start + 2 + 32; // client_version, random
      p += 1 + (b[p] & 0xff); // session_id
      p += 2 + u16(b, p); // cipher_suites
      p += 1 + (b[p] & 0xff); // compression_methods
      String sni = "";
      List<String> alpn = new ArrayList<>();
      if (p + 2 > end) {
        return new Result(State.TLS, sni, List.of());
      }
      int extEnd = p + 2 + u16(b, p);
      p += 2;
      if (extEnd > end) {
        return Result.ERROR;
      }
      while (p + 4 <= extEnd) {
        int type = u16(b, p);
        int len = u16(b, p + 2);
        int d = p + 4;
        if (d + len > extEnd) {
          return Result.ERROR;
        }
        if (type == EXT_SERVER_NAME && len >= 2) {
          int q = d + 2;
          int listEnd = Math.min(d + 2 + u16(b, d), d + len);
          while (q + 3 <= listEnd) {
            int nameType = b[q] & 0xff;
            int nameLen = u16(b, q + 1);
            if (nameType == 0 && q + 3 + nameLen <= listEnd) {
              sni = new String(b, q + 3, nameLen, StandardCharsets.US_ASCII);
              break;
            }
            q += 3 + nameLen;
          }
        } else if (type == EXT_ALPN && len >= 2) {
          int q = d + 2;
          int listEnd = Math.min(d + 2 + u16(b, d), d + len);
          while (q < listEnd) {
            int l = b[q] & 0xff;
            if (q + 1 + l > listEnd) {
              break;
            }
            alpn.add(new String(b, q + 1, l, StandardCharsets.US_ASCII));
            q += 1 + l;
          }
        }
        p = d + len;
      }
      return new Result(State.TLS, sni, List.copyOf(alpn));
    } catch (ArrayIndexOutOfBoundsException e) {
      return Result.ERROR;
    }
  }

  private static int u16(byte[] b, int p) {
    return ((b[p] & 0xff) << 8) | (b[p + 1] & 0xff);
  }
}
