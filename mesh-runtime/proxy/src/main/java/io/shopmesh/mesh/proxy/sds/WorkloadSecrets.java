package io.shopmesh.mesh.proxy.sds;

import io.grpc.CallOptions;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.shopmesh.mesh.proxy.xds.IstiodToken;
import io.shopmesh.mesh.wire.IstioCertificates;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.logging.Logger;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * The proxy's own istio-agent: it makes a key pair (the key never leaves the process), sends a CSR
 * to istiod's {@code IstioCertificateService}, and holds the SDS secrets Istio's TLS contexts name:
 * {@code default} (the workload certificate chain and key) and {@code ROOTCA} (the root). It asks
 * again at half the certificate's life (Istio's SECRET_GRACE_PERIOD_RATIO 0.5) with a new key, and
 * retries with backoff when istiod does not answer. TLS contexts read the current secret at each
 * handshake ({@link #keyManager()}), so new connections get a rotated certificate and open ones
 * keep theirs.
 */
public final class WorkloadSecrets implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(WorkloadSecrets.class.getName());

  /** The workload's certificate, key and trust root at one moment. */
  public record Secret(
      PrivateKey key,
      List<X509Certificate> chain,
      X509Certificate root,
      String spiffeId,
      Instant issued) {

    public X509Certificate leaf() {
      return chain.get(0);
    }
  }

  private static final MethodDescriptor<IstioCertificates.Request, IstioCertificates.Response>
      CREATE_CERTIFICATE =
          MethodDescriptor.<IstioCertificates.Request, IstioCertificates.Response>newBuilder()
              .setType(MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(
                  MethodDescriptor.generateFullMethodName(
                      IstioCertificates.SERVICE, IstioCertificates.METHOD))
              .setRequestMarshaller(
                  new Bytes<>(IstioCertificates.Request::encode, IstioCertificates.Request::decode))
              .setResponseMarshaller(
                  new Bytes<>(
                      IstioCertificates.Response::encode, IstioCertificates.Response::decode))
              .build();

  private static final Duration RETRY_MIN = Duration.ofMillis(200);
  private static final Duration RETRY_MAX = Duration.ofSeconds(10);

  private final String nodeId;
  private final Duration ttl;
  private final ManagedChannel channel;
  private final ScheduledExecutorService timer;
  private final List<Consumer<Secret>> listeners = new CopyOnWriteArrayList<>();
  private final AtomicLong rotations = new AtomicLong();
  private volatile Secret current;
  private volatile boolean closed;
  private Duration retry = RETRY_MIN;
  private volatile Path tokenFile;

  /**
   * @param caAddress istiod's gRPC address (host:port), where xDS is served
   * @param nodeId the proxy's xDS node id: the pod istiod identifies
   * @param ttl the validity asked for; zero leaves it to istiod
   */
  public WorkloadSecrets(String caAddress, String nodeId, Duration ttl) {
    this.nodeId = nodeId;
    this.ttl = ttl;
    this.channel = NettyChannelBuilder.forTarget(caAddress).usePlaintext().build();
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "workload-secrets");
              t.setDaemon(true);
              return t;
            });
  }

  /** The pod's token for istiod ({@code --token-file}), sent with every signing request. */
  public WorkloadSecrets tokenFile(Path file) {
    this.tokenFile = file;
    return this;
  }

  /** Starts fetching in the background; the secrets are there once {@link #current()} is. */
  public WorkloadSecrets start() {
    timer.execute(this::refresh);
    return this;
  }

  /** The current secrets, or null before istiod has signed the first certificate. */
  public Secret current() {
    return current;
  }

  /** Waits for the first certificate. */
  public Secret await(Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (current == null && System.nanoTime() < end) {
      Thread.sleep(20);
    }
    return current;
  }

  /** Certificates received after the first one. */
  public long rotations() {
    return rotations.get();
  }

  public void onChange(Consumer<Secret> listener) {
    listeners.add(listener);
  }

  private void refresh() {
    if (closed) {
      return;
    }
    try {
      Secret s = fetch();
      boolean first = current == null;
      current = s;
      if (!first) {
        rotations.incrementAndGet();
      }
      retry = RETRY_MIN;
      listeners.forEach(l -> l.accept(s));
      Instant from = s.leaf().getNotBefore().toInstant();
      Instant to = s.leaf().getNotAfter().toInstant();
      // at half life, counted from now when the certificate was backdated
      Instant start = from.isAfter(s.issued()) ? from : s.issued();
      Duration wait =
          Duration.between(Instant.now(), start.plus(Duration.between(start, to).dividedBy(2)));
      LOG.info(
          (first ? "workload certificate " : "workload certificate rotated: ")
              + s.spiffeId()
              + ", expires "
              + to
              + ", next request in "
              + wait.toMillis()
              + " ms");
      schedule(wait.isNegative() ? Duration.ZERO : wait);
    } catch (RuntimeException e) {
      if (closed) {
        return;
      }
      LOG.warning(
          "cannot get the workload certificate from istiod (retry in "
              + retry.toMillis()
              + " ms): "
              + e.getMessage());
      schedule(retry);
      retry = retry.multipliedBy(2).compareTo(RETRY_MAX) > 0 ? RETRY_MAX : retry.multipliedBy(2);
    }
  }

  private void schedule(Duration d) {
    if (!closed) {
      timer.schedule(this::refresh, d.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private Secret fetch() {
    try {
      KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
      kpg.initialize(new ECGenParameterSpec("secp256r1"));
      KeyPair keys = kpg.generateKeyPair();
      PKCS10CertificationRequest csr =
          new JcaPKCS10CertificationRequestBuilder(new X500Name(""), keys.getPublic())
              .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()));
      String pem =
          "-----BEGIN CERTIFICATE REQUEST-----\n"
              + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(csr.getEncoded())
              + "\n-----END CERTIFICATE REQUEST-----\n";
      Metadata h = IstiodToken.attach(tokenFile, new Metadata());
      h.put(
          Metadata.Key.of(IstioCertificates.NODE_ID_HEADER, Metadata.ASCII_STRING_MARSHALLER),
          nodeId);
      Instant issued = Instant.now();
      IstioCertificates.Response r =
          ClientCalls.blockingUnaryCall(
              ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(h)),
              CREATE_CERTIFICATE,
              CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
              new IstioCertificates.Request(pem, ttl.toSeconds()));
      if (r.certChain().size() < 2) {
        throw new IllegalStateException(
            "istiod answered " + r.certChain().size() + " certificates");
      }
      List<X509Certificate> chain = new ArrayList<>();
      for (String c : r.certChain()) {
        chain.addAll(parse(c));
      }
      X509Certificate root = chain.remove(chain.size() - 1);
      if (!chain.get(0).getPublicKey().equals(keys.getPublic())) {
        throw new IllegalStateException("the certificate is not for the key sent");
      }
      return new Secret(
          keys.getPrivate(), List.copyOf(chain), root, spiffeId(chain.get(0)), issued);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e.toString(), e);
    }
  }

  private static List<X509Certificate> parse(String pem) throws Exception {
    List<X509Certificate> out = new ArrayList<>();
    InputStream in = new ByteArrayInputStream(pem.getBytes(StandardCharsets.UTF_8));
    for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
      out.add((X509Certificate) c);
    }
    return out;
  }

  /** The certificate's SPIFFE id (its URI SAN), or null. */
  public static String spiffeId(X509Certificate c) {
    try {
      Collection<List<?>> sans = c.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          if ((Integer) san.get(0) == 6 && String.valueOf(san.get(1)).startsWith("spiffe://")) {
            return String.valueOf(san.get(1));
          }
        }
      }
      return null;
    } catch (Exception e) {
      return null;
    }
  }

  /**
   * A key manager presenting the {@code default} secret as it is at each handshake: SDS's {@code
   * tls_certificate_sds_secret_configs: default}.
   */
  public X509ExtendedKeyManager keyManager() {
    return new X509ExtendedKeyManager() {
      private static final String ALIAS = IstioCertificates.SECRET_DEFAULT;

      private String alias(String[] keyTypes) {
        return current == null ? null : ALIAS;
      }

      @Override
      public String[] getClientAliases(String keyType, Principal[] issuers) {
        return current == null ? null : new String[] {ALIAS};
      }

      @Override
      public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return alias(keyType);
      }

      @Override
      public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine e) {
        return alias(keyType);
      }

      @Override
      public String[] getServerAliases(String keyType, Principal[] issuers) {
        return current == null ? null : new String[] {ALIAS};
      }

      @Override
      public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return alias(new String[] {keyType});
      }

      @Override
      public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine e) {
        return alias(new String[] {keyType});
      }

      @Override
      public X509Certificate[] getCertificateChain(String alias) {
        Secret s = current;
        return s == null ? null : s.chain().toArray(new X509Certificate[0]);
      }

      @Override
      public PrivateKey getPrivateKey(String alias) {
        Secret s = current;
        return s == null ? null : s.key();
      }
    };
  }

  /**
   * A trust manager verifying a peer's chain against the {@code ROOTCA} secret as it is at each
   * handshake, and, when {@code spiffeIds} is not empty, that the peer's SPIFFE id is one of them
   * (Istio's SAN match of the destination's service accounts).
   */
  public X509ExtendedTrustManager trustManager(List<String> spiffeIds) {
    return new RootTrust(List.copyOf(spiffeIds));
  }

  private final class RootTrust extends X509ExtendedTrustManager {
    private final List<String> spiffeIds;
    private X509Certificate trustedRoot;
    private X509TrustManager pkix;

    RootTrust(List<String> spiffeIds) {
      this.spiffeIds = spiffeIds;
    }

    private synchronized X509TrustManager pkix() throws CertificateException {
      Secret s = current;
      if (s == null) {
        throw new CertificateException(
            "no ROOTCA secret yet (istiod has not signed a certificate)");
      }
      if (!s.root().equals(trustedRoot)) {
        try {
          KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
          ks.load(null, null);
          ks.setCertificateEntry(IstioCertificates.SECRET_ROOTCA, s.root());
          TrustManagerFactory tmf =
              TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
          tmf.init(ks);
          for (TrustManager tm : tmf.getTrustManagers()) {
            if (tm instanceof X509TrustManager x) {
              pkix = x;
            }
          }
          trustedRoot = s.root();
        } catch (Exception e) {
          throw new CertificateException("cannot use the ROOTCA secret: " + e, e);
        }
      }
      return pkix;
    }

    private void check(X509Certificate[] chain, String authType, boolean client)
        throws CertificateException {
      if (client) {
        pkix().checkClientTrusted(chain, authType);
      } else {
        pkix().checkServerTrusted(chain, authType);
      }
      if (!spiffeIds.isEmpty()) {
        String id = spiffeId(chain[0]);
        if (id == null || !spiffeIds.contains(id)) {
          throw new CertificateException(
              "peer identity "
                  + id
                  + " matches none of "
                  + spiffeIds
                  + " (SAN verification failed)");
        }
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      check(chain, authType, true);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      check(chain, authType, false);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      check(chain, authType, true);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      check(chain, authType, false);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      check(chain, authType, true);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      check(chain, authType, false);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      Secret s = current;
      return s == null ? new X509Certificate[0] : new X509Certificate[] {s.root()};
    }
  }

  @Override
  public void close() {
    closed = true;
    timer.shutdownNow();
    channel.shutdownNow();
  }

  /** A protobuf message encoded by hand: bytes in and out. */
  private record Bytes<T>(Function<T, byte[]> encode, Function<byte[], T> decode)
      implements MethodDescriptor.Marshaller<T> {

    @Override
    public InputStream stream(T value) {
      return new ByteArrayInputStream(encode.apply(value));
    }

    @Override
    public T parse(InputStream stream) {
      try {
        return decode.apply(stream.readAllBytes());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
