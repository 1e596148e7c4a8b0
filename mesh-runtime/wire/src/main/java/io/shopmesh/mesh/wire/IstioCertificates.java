package io.shopmesh.mesh.wire;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Istio's certificate service ({@code istio.v1.auth.IstioCertificateService}, ca.proto in
 * istio.io/api security/v1alpha1): the proxy sends a CSR, istiod answers with the signed chain. The
 * two messages are encoded here by hand in protobuf's wire format, with Istio's field numbers, so
 * that both sides share one definition and this module stays dependency-free.
 */
public final class IstioCertificates {

  /** The gRPC service and method, as istio-agent calls them. */
  public static final String SERVICE = "istio.v1.auth.IstioCertificateService";

  public static final String METHOD = "CreateCertificate";

  /**
   * gRPC request header with the caller's node id (the one its xDS stream carries): the pod whose
   * registry record gives the identity. The CSR's own contents never do.
   */
  public static final String NODE_ID_HEADER = "istio-node-id";

  /** Trust domain of every SPIFFE id in the mesh. */
  public static final String TRUST_DOMAIN = "cluster.local";

  /** SDS secret names Istio's TLS contexts refer to: the workload's chain and key, the root. */
  public static final String SECRET_DEFAULT = "default";

  public static final String SECRET_ROOTCA = "ROOTCA";

  private IstioCertificates() {}

  /** {@code spiffe://cluster.local/ns/NS/sa/SA}. */
  public static String spiffeId(String namespace, String serviceAccount) {
    return "spiffe://" + TRUST_DOMAIN + "/ns/" + namespace + "/sa/" + serviceAccount;
  }

  /**
   * IstioCertificateRequest: {@code string csr = 1; int64 validity_duration = 3} (seconds); field 4
   * (metadata) is not sent.
   */
  public record Request(String csr, long validitySeconds) {

    public byte[] encode() {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      writeString(out, 1, csr);
      if (validitySeconds != 0) {
        writeTag(out, 3, 0);
        writeVarint(out, validitySeconds);
      }
      return out.toByteArray();
    }

    public static Request decode(byte[] b) {
      String csr = "";
      long validity = 0;
      Reader r = new Reader(b);
      while (r.more()) {
        long tag = r.varint();
        int field = (int) (tag >>> 3);
        int type = (int) (tag & 7);
        if (field == 1 && type == 2) {
          csr = r.string();
        } else if (field == 3 && type == 0) {
          validity = r.varint();
        } else {
          r.skip(type);
        }
      }
      return new Request(csr, validity);
    }
  }

  /**
   * IstioCertificateResponse: {@code repeated string cert_chain = 1}, the workload certificate
   * first and the root last.
   */
  public record Response(List<String> certChain) {

    public Response {
      certChain = List.copyOf(certChain);
    }

    public byte[] encode() {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      for (String c : certChain) {
        writeString(out, 1, c);
      }
      return out.toByteArray();
    }

    public static Response decode(byte[] b) {
      List<String> chain = new ArrayList<>();
      Reader r = new Reader(b);
      while (r.more()) {
        long tag = r.varint();
        if ((tag >>> 3) == 1 && (tag & 7) == 2) {
          chain.add(r.string());
        } else {
          r.skip((int) (tag & 7));
        }
      }
      return new Response(chain);
    }
  }

  private static void writeString(ByteArrayOutputStream out, int field, String s) {
    byte[] v = s.getBytes(StandardCharsets.UTF_8);
    writeTag(out, field, 2);
    writeVarint(out, v.length);
    out.write(v, 0, v.length);
  }

  private static void writeTag(ByteArrayOutputStream out, int field, int wireType) {
    writeVarint(out, ((long) field << 3) | wireType);
  }

  private static void writeVarint(ByteArrayOutputStream out, long v) {
    while ((v & ~0x7FL) != 0) {
      out.write((int) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.write((int) v);
  }

  private static final class Reader {
    private final byte[] b;
    private int pos;

    Reader(byte[] b) {
      this.b = b;
    }

    boolean more() {
      return pos < b.length;
    }

    long varint() {
      long v = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (pos >= b.length) {
          throw new IllegalArgumentException("truncated varint");
        }
        byte x = b[pos++];
        v |= (long) (x & 0x7F) << shift;
        if ((x & 0x80) == 0) {
          return v;
        }
      }
      throw new IllegalArgumentException("malformed varint");
    }

    String string() {
      int len = (int) varint();
      if (len < 0 || pos + len > b.length) {
        throw new IllegalArgumentException("truncated field");
      }
      String s = new String(b, pos, len, StandardCharsets.UTF_8);
      pos += len;
      return s;
    }

    void skip(int type) {
      switch (type) {
        case 0 -> varint();
        case 1 -> pos += 8;
        case 2 -> pos += (int) varint();
        case 5 -> pos += 4;
        default -> throw new IllegalArgumentException("unsupported wire type " + type);
      }
      if (pos > b.length) {
        throw new IllegalArgumentException("truncated field");
      }
    }
  }
}
