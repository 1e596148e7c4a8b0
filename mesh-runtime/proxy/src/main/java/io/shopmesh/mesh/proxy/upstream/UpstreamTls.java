package io.shopmesh.mesh.proxy.upstream;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.shopmesh.mesh.proxy.sds.WorkloadSecrets;
import io.shopmesh.mesh.wire.IstioCertificates;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509KeyManager;

/**
 * A cluster's TLS origination as Envoy's UpstreamTlsContext gives it: the SNI, whether and against
 * what the server's certificate is verified, and the subject alt names it must carry.
 *
 * <p>As Envoy: a validation context with a trusted CA (a file, or the SDS name {@code
 * file-root:<path>} Istio uses, {@code file-root:system} being the OS trust store, here the JVM's
 * default one) verifies the chain; without one (Istio's insecureSkipVerify gives an empty
 * validation context) nothing is verified. The certificate's DNS/IP SANs must match one of {@code
 * match_typed_subject_alt_names} / {@code match_subject_alt_names} when given, else, with {@code
 * auto_san_validation}, the SNI sent.
 */
public record UpstreamTls(
    String sni,
    boolean verify,
    Path caFile,
    List<String> sans,
    boolean autoSni,
    boolean autoSan,
    boolean workloadCertificate,
    boolean meshRoot,
    Supplier<WorkloadSecrets> secrets) {
  static final String FILE_ROOT = "file-root:";
  static final String SYSTEM_ROOT = "system";

  /**
   * The settings of a cluster's transport socket and upstream HTTP protocol options. SDS {@code
   * default} and {@code ROOTCA} (ISTIO_MUTUAL) resolve to the workload's own secrets.
   */
  static UpstreamTls of(
      UpstreamTlsContext u,
      HttpProtocolOptions hpo,
      Path certsRoot,
      Supplier<WorkloadSecrets> secrets) {
    CommonTlsContext ctx = u.getCommonTlsContext();
    boolean workloadCert =
        ctx.getTlsCertificateSdsSecretConfigsList().stream()
            .anyMatch(s -> s.getName().equals(IstioCertificates.SECRET_DEFAULT));
    boolean meshRoot =
        ctx.hasCombinedValidationContext()
                && ctx.getCombinedValidationContext()
                    .getValidationContextSdsSecretConfig()
                    .getName()
                    .equals(IstioCertificates.SECRET_ROOTCA)
            || ctx.getValidationContextSdsSecretConfig()
                .getName()
                .equals(IstioCertificates.SECRET_ROOTCA);
    CertificateValidationContext vc = null;
    String root = null;
    if (ctx.hasValidationContext()) {
      vc = ctx.getValidationContext();
    } else if (ctx.hasCombinedValidationContext()) {
      vc = ctx.getCombinedValidationContext().getDefaultValidationContext();
      root =
          sdsRoot(
              ctx.getCombinedValidationContext().getValidationContextSdsSecretConfig().getName());
    } else if (ctx.hasValidationContextSdsSecretConfig()) {
      root = sdsRoot(ctx.getValidationContextSdsSecretConfig().getName());
    }
    if (root == null && vc != null && !vc.getTrustedCa().getFilename().isEmpty()) {
      root = vc.getTrustedCa().getFilename();
    }
    List<String> sans = new ArrayList<>();
    if (vc != null) {
      for (SubjectAltNameMatcher m : vc.getMatchTypedSubjectAltNamesList()) {
        addExact(sans, m.getMatcher());
      }
      for (StringMatcher m : vc.getMatchSubjectAltNamesList()) {
        addExact(sans, m);
      }
    }
    boolean verify = root != null || meshRoot;
    Path ca =
        !verify || meshRoot || SYSTEM_ROOT.equals(root)
            ? null
            : UpstreamCluster.mapCertPath(root, certsRoot);
    boolean autoSni = false;
    boolean autoSan = false;
    if (hpo != null && hpo.hasUpstreamHttpProtocolOptions()) {
      autoSni = hpo.getUpstreamHttpProtocolOptions().getAutoSni();
      autoSan = hpo.getUpstreamHttpProtocolOptions().getAutoSanValidation();
    }
    // Istio's mesh SNI (outbound_.8080_._.host) is no host name the JDK will send (underscores):
    // mesh mTLS goes without SNI; the peer's inbound selects its chain by transport protocol.
    boolean sendSni = !u.getSni().isEmpty() && !(meshRoot && u.getSni().contains("_"));
    return new UpstreamTls(
        sendSni ? u.getSni() : null,
        verify,
        ca,
        List.copyOf(sans),
        autoSni,
        autoSan,
        workloadCert,
        meshRoot,
        secrets);
  }

  private static String sdsRoot(String name) {
    return name.startsWith(FILE_ROOT) ? name.substring(FILE_ROOT.length()) : null;
  }

  private static void addExact(List<String> out, StringMatcher m) {
    if (!m.getExact().isEmpty()) {
      out.add(m.getExact());
    }
  }

  /** The workload certificate to present (SDS {@code default}); null when there is none. */
  public X509KeyManager keyManager() {
    WorkloadSecrets s = secrets == null ? null : secrets.get();
    return workloadCertificate && s != null ? s.keyManager() : null;
  }

  /** The trust manager that verifies as configured (call only when {@link #verify()}). */
  public TrustManager trustManager() {
    if (meshRoot) {
      WorkloadSecrets s = secrets == null ? null : secrets.get();
      return s == null
          ? new Verifier(null, "no ROOTCA secret: the proxy has no workload certificate")
          : s.trustManager(sans);
    }
    X509ExtendedTrustManager chain;
    try {
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      if (caFile == null) {
        tmf.init((KeyStore) null);
      } else {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        try (InputStream in = Files.newInputStream(caFile)) {
          int i = 0;
          for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
            ks.setCertificateEntry("ca-" + i++, c);
          }
        }
        tmf.init(ks);
      }
      chain = null;
      for (TrustManager tm : tmf.getTrustManagers()) {
        if (tm instanceof X509ExtendedTrustManager x) {
          chain = x;
        }
      }
    } catch (Exception e) {
      // An unreadable CA: every handshake fails, as Envoy's cluster would not connect.
      return new Verifier(null, "cannot read the trusted CA " + caFile + ": " + e.getMessage());
    }
    return new Verifier(chain, null);
  }

  /** Envoy's DNS SAN match: exact (case-insensitive), or a "*." certificate entry for one label. */
  static boolean dnsMatch(String certName, String name) {
    String c = certName.toLowerCase(Locale.ROOT);
    String n = name.toLowerCase(Locale.ROOT);
    if (c.equals(n)) {
      return true;
    }
    if (c.startsWith("*.")) {
      int dot = n.indexOf('.');
      return dot > 0 && n.substring(dot).equals(c.substring(1));
    }
    return false;
  }

  /** The certificate's DNS and IP subject alt names. */
  static List<String> certSans(X509Certificate cert) throws CertificateParsingException {
    List<String> out = new ArrayList<>();
    Collection<List<?>> all = cert.getSubjectAlternativeNames();
    if (all != null) {
      for (List<?> e : all) {
        int type = (Integer) e.get(0);
        if (type == 2 || type == 7) {
          out.add(String.valueOf(e.get(1)));
        }
      }
    }
    return out;
  }

  private final class Verifier extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager chainCheck;
    private final String broken;

    Verifier(X509ExtendedTrustManager chainCheck, String broken) {
      this.chainCheck = chainCheck;
      this.broken = broken;
    }

    private void check(X509Certificate[] chain, String authType, SSLEngine engine, Socket socket)
        throws CertificateException {
      if (broken != null || chainCheck == null) {
        throw new CertificateException(broken != null ? broken : "no X509 trust manager");
      }
      if (engine != null) {
        chainCheck.checkServerTrusted(chain, authType, engine);
      } else if (socket != null) {
        chainCheck.checkServerTrusted(chain, authType, socket);
      } else {
        chainCheck.checkServerTrusted(chain, authType);
      }
      List<String> wanted = sans;
      if (wanted.isEmpty() && autoSan) {
        String peer = engine != null ? engine.getPeerHost() : null;
        wanted = peer == null ? List.of() : List.of(peer);
        if (wanted.isEmpty()) {
          throw new CertificateException("auto_san_validation without a server name");
        }
      }
      if (wanted.isEmpty()) {
        return;
      }
      List<String> have = certSans(chain[0]);
      for (String w : wanted) {
        for (String h : have) {
          if (dnsMatch(h, w)) {
            return;
          }
        }
      }
      throw new CertificateException(
          "certificate SANs " + have + " match none of " + wanted + " (SAN verification failed)");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      check(chain, authType, engine, null);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      check(chain, authType, null, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      check(chain, authType, null, null);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      throw new CertificateException("client side only");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      throw new CertificateException("client side only");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      throw new CertificateException("client side only");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return chainCheck == null ? new X509Certificate[0] : chainCheck.getAcceptedIssuers();
    }
  }
}
