package io.shopmesh.mesh.istiod.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.shopmesh.mesh.istiod.DirectoryConfigSource;
import io.shopmesh.mesh.istiod.Istiod;
import io.shopmesh.mesh.istiod.XdsAuthenticator;
import io.shopmesh.mesh.wire.IstioCertificates;
import io.shopmesh.mesh.wire.NodeId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** istiod's CA, through its real gRPC service on the xDS port, with a registry file as source. */
class CertificateServiceTest {

  @TempDir Path tmp;

  private static String csr(String subject) throws Exception {
    KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
    kpg.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair keys = kpg.generateKeyPair();
    var req =
        new JcaPKCS10CertificationRequestBuilder(new X500Name(subject), keys.getPublic())
            .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()));
    return Pem.encode("CERTIFICATE REQUEST", req.getEncoded());
  }

  private static String uriSan(X509Certificate c) throws Exception {
    return c.getSubjectAlternativeNames().stream()
        .filter(n -> (Integer) n.get(0) == 6)
        .map(n -> (String) n.get(1))
        .findFirst()
        .orElse(null);
  }

  private Istiod istiod(Path caDir, Duration ttl) throws Exception {
    Path config = Files.createDirectories(tmp.resolve("config"));
    Path registry = tmp.resolve("registry.json");
    Files.writeString(
        registry,
        """
        {"source": "test", "pods": [
          {"name": "order-service-1", "namespace": "default", "ip": "127.0.1.20",
           "workload": "order-service", "labels": {"app": "order-service"},
           "ports": [{"containerPort": 8080}], "sidecar": true, "ready": true,
           "serviceAccount": "shop-order"},
          {"name": "legacy-1", "namespace": "default", "ip": "127.0.1.21",
           "workload": "legacy", "labels": {"app": "legacy"},
           "ports": [{"containerPort": 8080}], "sidecar": true, "ready": true}
        ]}
        """);
    return new Istiod(new DirectoryConfigSource(config), registry)
        .certificateAuthority(caDir, ttl)
        .start("127.0.0.1", 0, 0);
  }

  private static List<String> create(int port, String nodeId, String csr, long ttlSeconds) {
    return create(port, nodeId, csr, ttlSeconds, null);
  }

  private static List<String> create(
      int port, String nodeId, String csr, long ttlSeconds, String token) {
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    try {
      Metadata h = new Metadata();
      if (nodeId != null) {
        h.put(CertificateService.NODE_ID, nodeId);
      }
      if (token != null) {
        h.put(
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
      }
      Channel withHeaders =
          ClientInterceptors.intercept(ch, MetadataUtils.newAttachHeadersInterceptor(h));
      return ClientCalls.blockingUnaryCall(
              withHeaders,
              CertificateService.CREATE_CERTIFICATE,
              CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
              new IstioCertificates.Request(csr, ttlSeconds))
          .certChain();
    } finally {
      ch.shutdownNow();
    }
  }

  private static String node(String pod) {
    return NodeId.format(NodeId.Type.SIDECAR, "127.0.1.20", pod, "default");
  }

  @Test
  void withPodTokensOnlyThePodsOwnTokenGetsItsCertificate() throws Exception {
    String orderToken = XdsAuthenticator.newToken();
    String legacyToken = XdsAuthenticator.newToken();
    Path config = Files.createDirectories(tmp.resolve("config"));
    Path registry = tmp.resolve("registry.json");
    Files.writeString(
        registry,
        """
        {"source": "test", "pods": [
          {"name": "order-service-1", "namespace": "default", "ip": "127.0.1.20",
           "workload": "order-service", "labels": {"app": "order-service"},
           "ports": [{"containerPort": 8080}], "sidecar": true, "ready": true,
           "serviceAccount": "shop-order", "tokenSha256": "%s"},
          {"name": "legacy-1", "namespace": "default", "ip": "127.0.1.21",
           "workload": "legacy", "labels": {"app": "legacy"},
           "ports": [{"containerPort": 8080}], "sidecar": true, "ready": true,
           "tokenSha256": "%s"}
        ]}
        """
            .formatted(XdsAuthenticator.sha256(orderToken), XdsAuthenticator.sha256(legacyToken)));
    try (Istiod istiod =
        new Istiod(new DirectoryConfigSource(config), registry).start("127.0.0.1", 0, 0)) {
      int port = istiod.xdsPort();
      String order = node("order-service-1");
      // no token, and another pod's token naming the order pod: no certificate for shop-order
      assertThatThrownBy(() -> create(port, order, csr("CN=x"), 3600))
          .satisfies(
              e ->
                  assertThat(Status.fromThrowable(e).getCode())
                      .isEqualTo(Status.Code.UNAUTHENTICATED));
      assertThatThrownBy(() -> create(port, order, csr("CN=x"), 3600, legacyToken))
          .satisfies(
              e -> {
                assertThat(Status.fromThrowable(e).getCode())
                    .isEqualTo(Status.Code.PERMISSION_DENIED);
                assertThat(Status.fromThrowable(e).getDescription()).contains("legacy-1.default");
              });
      List<String> chain = create(port, order, csr("CN=x"), 3600, orderToken);
      assertThat(uriSan(Pem.certificates(chain.get(0)).get(0)))
          .isEqualTo("spiffe://cluster.local/ns/default/sa/shop-order");
    }
  }

  @Test
  void signsTheRegistrysIdentityNotTheCsrs() throws Exception {
    try (Istiod istiod = istiod(null, Duration.ofHours(24))) {
      List<String> chain =
          create(
              istiod.xdsPort(),
              node("order-service-1"),
              csr("CN=spiffe://cluster.local/ns/istio-system/sa/admin"),
              0);
      assertThat(chain).hasSize(2);
      X509Certificate leaf = Pem.certificates(chain.get(0)).get(0);
      X509Certificate root = Pem.certificates(chain.get(1)).get(0);
      assertThat(uriSan(leaf)).isEqualTo("spiffe://cluster.local/ns/default/sa/shop-order");
      assertThat(leaf.getSubjectX500Principal().getName()).isEmpty();
      assertThat(root).isEqualTo(istiod.ca().root());
      leaf.verify(root.getPublicKey());
      long hours =
          Duration.between(Instant.now(), leaf.getNotAfter().toInstant()).plusMinutes(1).toHours();
      assertThat(hours).isEqualTo(24);
      assertThat(leaf.getExtendedKeyUsage())
          .contains("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"); // server and client auth

      // a pod without serviceAccountName runs as "default"; a requested TTL is honoured
      List<String> legacy = create(istiod.xdsPort(), node("legacy-1"), csr("CN=x"), 120);
      X509Certificate l = Pem.certificates(legacy.get(0)).get(0);
      assertThat(uriSan(l)).isEqualTo("spiffe://cluster.local/ns/default/sa/default");
      assertThat(l.getNotAfter().getTime() - System.currentTimeMillis())
          .isBetween(60_000L, 121_000L);
    }
  }

  @Test
  void refusesUnknownPodsMissingCallersAndTooLongTtls() throws Exception {
    try (Istiod istiod = istiod(null, Duration.ofHours(24))) {
      String csr = csr("CN=x");
      assertThatThrownBy(() -> create(istiod.xdsPort(), node("intruder-1"), csr, 0))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
      assertThatThrownBy(() -> create(istiod.xdsPort(), null, csr, 0))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
      long tooLong = Duration.ofDays(91).toSeconds();
      assertThatThrownBy(() -> create(istiod.xdsPort(), node("order-service-1"), csr, tooLong))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
      assertThatThrownBy(() -> create(istiod.xdsPort(), node("order-service-1"), "not a csr", 0))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    }
  }

  @Test
  void aCreatedRootIsKeptAcrossRestartsAndPluggedInCertsAreUsed() throws Exception {
    Path caDir = tmp.resolve("cacerts");
    X509Certificate first;
    try (Istiod istiod = istiod(caDir, Duration.ofHours(1))) {
      first = istiod.ca().root();
    }
    assertThat(caDir.resolve("ca-key.pem")).exists();
    try (Istiod istiod = istiod(caDir, Duration.ofHours(1))) {
      assertThat(istiod.ca().root()).isEqualTo(first);
      List<String> chain = create(istiod.xdsPort(), node("order-service-1"), csr("CN=x"), 0);
      Pem.certificates(chain.get(0)).get(0).verify(first.getPublicKey());
    }

    // an intermediate plugged in as Istio's cacerts: the chain is leaf, intermediate, root
    IstioCa rootCa = IstioCa.selfSigned();
    Path plugged = Files.createDirectories(tmp.resolve("plugged"));
    KeyPairGenerator kpg = KeyPairGenerator.getInstance("RSA");
    kpg.initialize(2048);
    KeyPair ik = kpg.generateKeyPair();
    X509Certificate intermediate =
        rootCa.signIntermediate(ik.getPublic(), "O=cluster.local,CN=intermediate");
    Files.writeString(plugged.resolve("ca-cert.pem"), Pem.certificate(intermediate));
    Files.writeString(plugged.resolve("ca-key.pem"), Pem.privateKey(ik.getPrivate()));
    Files.writeString(plugged.resolve("root-cert.pem"), rootCa.rootPem());
    Files.writeString(
        plugged.resolve("cert-chain.pem"), Pem.certificate(intermediate) + rootCa.rootPem());
    IstioCa ca = IstioCa.loadOrCreate(plugged);
    List<String> chain =
        ca.sign(csr("CN=x"), "spiffe://cluster.local/ns/a/sa/b", Duration.ofHours(1));
    assertThat(chain).hasSize(3);
    assertThat(Pem.certificates(chain.get(1)).get(0)).isEqualTo(intermediate);
    assertThat(Pem.certificates(chain.get(2)).get(0)).isEqualTo(rootCa.root());
    Pem.certificates(chain.get(0)).get(0).verify(ik.getPublic());
  }
}
