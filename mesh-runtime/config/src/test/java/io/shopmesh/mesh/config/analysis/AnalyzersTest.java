package io.shopmesh.mesh.config.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.testing.Manifests;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AnalyzersTest {

  @TempDir Path dir;

  private static final Path MANIFESTS = Manifests.dir();

  @Test
  void projectManifestsHaveNoIssues() {
    assertThat(Analyzers.analyze(List.of(MANIFESTS))).isEmpty();
  }

  @Test
  void aVariantAfterTheManifestsReplacesTheObjectItRedefines() {
    assertThat(
            Analyzers.analyze(
                List.of(
                    MANIFESTS,
                    MANIFESTS.resolve("variants/product-virtualservice-50-50.yaml"),
                    MANIFESTS.resolve("variants/product-virtualservice-header-routing.yaml"))))
        .isEmpty();
  }

  @Test
  void theAuthorizationVariantSelectsTheOrderServiceAndAPolicyForNoPodIsIst0127()
      throws IOException {
    assertThat(
            Analyzers.analyze(
                List.of(MANIFESTS, MANIFESTS.resolve("variants/order-authorization.yaml"))))
        .isEmpty();
    Path f = dir.resolve("ap.yaml");
    Files.writeString(
        f,
        """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: reviews, namespace: default}
        spec:
          selector: {matchLabels: {app: reviews, version: v2}}
          rules: [{}]
        """);
    assertThat(Analyzers.analyze(List.of(MANIFESTS, f)))
        .singleElement()
        .satisfies(
            m -> {
              assertThat(m.code()).isEqualTo("IST0127");
              assertThat(m.name()).isEqualTo("reviews");
              assertThat(m.message())
                  .isEqualTo(
                      "No matching workloads for this resource with the following labels:"
                          + " app=reviews,version=v2");
            });
  }

  @Test
  void walkthroughLiteralPaymentFilesExplainTheHttpsTrap() {
    List<Diagnostic> d =
        Analyzers.analyze(List.of(MANIFESTS.resolve("variants/payment-walkthrough-literal.yaml")));
    assertThat(d)
        .singleElement()
        .satisfies(
            m -> {
              assertThat(m.code()).isEqualTo("SM0101");
              assertThat(m.level()).isEqualTo(Diagnostic.Level.WARNING);
              assertThat(m.name()).isEqualTo("payment-vs");
              assertThat(m.message())
                  .contains(
                      "cannot apply to application-originated TLS",
                      "tls.mode SIMPLE",
                      "http://api.payment-provider.com",
                      "port 443");
            });
  }

  /** Istio's egress TLS origination task: match port 80, route to 443, SIMPLE tls on 443. */
  static final String ISTIO_EGRESS_TLS_ORIGINATION =
      """
      apiVersion: networking.istio.io/v1alpha3
      kind: ServiceEntry
      metadata:
        name: edition-cnn-com
      spec:
        hosts:
        - edition.cnn.com
        ports:
        - number: 80
          name: http-port
          protocol: HTTP
        - number: 443
          name: https-port-for-tls-origination
          protocol: HTTPS
        resolution: DNS
      ---
      apiVersion: networking.istio.io/v1alpha3
      kind: VirtualService
      metadata:
        name: edition-cnn-com
      spec:
        hosts:
        - edition.cnn.com
        http:
        - match:
          - port: 80
          route:
          - destination:
              host: edition.cnn.com
              port:
                number: 443
      ---
      apiVersion: networking.istio.io/v1alpha3
      kind: DestinationRule
      metadata:
        name: edition-cnn-com
      spec:
        host: edition.cnn.com
        trafficPolicy:
          portLevelSettings:
          - port:
              number: 443
            tls:
              mode: SIMPLE # initiates HTTPS when accessing edition.cnn.com
      """;

  @Test
  void istiosEgressTlsOriginationPatternAnalyzesClean() throws IOException {
    Path f = dir.resolve("egress.yaml");
    Files.writeString(f, ISTIO_EGRESS_TLS_ORIGINATION);
    // As istioctl analyze: only Istio's own IST0129 for SIMPLE tls without caCertificates.
    assertThat(Analyzers.analyze(List.of(f)))
        .extracting(Diagnostic::code)
        .containsExactly("IST0129");
    Files.writeString(
        f,
        ISTIO_EGRESS_TLS_ORIGINATION.replace(
            "mode: SIMPLE # initiates HTTPS when accessing edition.cnn.com",
            "mode: SIMPLE\n        caCertificates: /etc/certs/cnn/ca.crt"));
    assertThat(Analyzers.analyze(List.of(f))).isEmpty();
  }

  @Test
  void httpRulesMatchingOnlyTheHttpsPortAreSm0101() throws IOException {
    Path f = dir.resolve("egress.yaml");
    Files.writeString(f, ISTIO_EGRESS_TLS_ORIGINATION.replace("- port: 80", "- port: 443"));
    assertThat(Analyzers.analyze(List.of(f)))
        .filteredOn(m -> !m.code().equals("IST0129"))
        .singleElement()
        .satisfies(
            m -> {
              assertThat(m.code()).isEqualTo("SM0101");
              assertThat(m.message()).contains("port 443", "declares HTTPS");
            });
  }

  @Test
  void missingSubsetIsIst0101AtTheSubsetLine() throws IOException {
    Path f = dir.resolve("vs.yaml");
    Files.writeString(
        f,
        Files.readString(MANIFESTS.resolve("product-virtualservice.yaml"))
            .replaceFirst("subset: v2", "subset: v3"));
    List<Diagnostic> d =
        Analyzers.analyze(
            List.of(
                f,
                MANIFESTS.resolve("product-destination-rule.yaml"),
                MANIFESTS.resolve("product-service.yaml"),
                MANIFESTS.resolve("product-service-v1.yaml"),
                MANIFESTS.resolve("product-service-v2.yaml")));
    int line = lineOf(f, "subset: v3");
    assertThat(d)
        .extracting(Diagnostic::toIstioctlLine)
        .containsExactly(
            "Error [IST0101] (VirtualService default/product-vs "
                + f
                + ":"
                + line
                + ") Referenced host+subset in destinationrule not found: \"product-service+v3\"");
  }

  @Test
  void hostsGatewaysAndSubsets() throws IOException {
    Path f = dir.resolve("all.yaml");
    Files.writeString(
        f,
        """
        apiVersion: v1
        kind: Service
        metadata: {name: reviews}
        spec:
          selector: {app: reviews}
          ports: [{name: http, port: 8080}, {name: grpc, port: 9090}]
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: reviews-v1}
        spec:
          replicas: 1
          selector: {matchLabels: {app: reviews, version: v1}}
          template:
            metadata: {labels: {app: reviews, version: v1}}
            spec: {containers: [{name: r, image: r}]}
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews}
        spec:
          host: reviews
          subsets:
          - {name: v1, labels: {version: v1}}
          - {name: v9, labels: {version: v9}}
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: ghost}
        spec:
          host: ghost.example.com
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews}
        spec:
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews, subset: v1}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews-2}
        spec:
          hosts: [reviews.default.svc.cluster.local]
          gateways: [mesh, missing-gw]
          http:
          - route:
            - destination: {host: nowhere}
        """);
    List<String> codes =
        Analyzers.analyze(List.of(f)).stream()
            .map(d -> d.code() + " " + d.kind() + " " + d.name())
            .toList();
    assertThat(codes)
        .containsExactlyInAnyOrder(
            "IST0112 VirtualService reviews",
            "IST0173 DestinationRule reviews",
            "IST0174 DestinationRule ghost",
            "IST0101 VirtualService reviews-2",
            "IST0101 VirtualService reviews-2",
            "IST0132 VirtualService reviews-2",
            "IST0109 VirtualService reviews",
            "IST0109 VirtualService reviews-2");
  }

  @Test
  void brokenExamplesGiveOneClearLineEach() {
    Path broken = Path.of("src/test/resources/broken");
    List<String> lines =
        Analyzers.analyze(List.of(broken)).stream().map(Diagnostic::toIstioctlLine).toList();
    assertThat(lines)
        .containsExactly(
            "Error [SM0001] ("
                + broken.resolve("bad-yaml.yaml")
                + ":8) cannot parse YAML: expected <block end>, but"
                + " found '<block mapping start>' (while parsing a block mapping)",
            "Error [IST0106] (VirtualService default/admin-vs "
                + broken.resolve("lookahead-regex.yaml")
                + ":11) Schema"
                + " validation error: spec.http[0].match[0].uri.regex: \"uri\": error parsing regexp: invalid or"
                + " unsupported Perl syntax: `(?!`; Istio uses RE2 style regex-based match"
                + " (https://github.com/google/re2/wiki/Syntax)",
            "Error [IST0106] (VirtualService default/product-vs "
                + broken.resolve("product-virtualservice.yaml")
                + ":14) Schema validation error: spec.http[0].route[0].weight: weight -15 < 0",
            "Error [IST0101] (VirtualService default/product-vs "
                + broken.resolve("product-virtualservice.yaml")
                + ":17) Referenced host+subset in destinationrule not found: \"product-service+v3\"");
  }

  @Test
  void featuresThisMeshDoesNotEnforceAreSm0103() throws IOException {
    Path f = dir.resolve("vs.yaml");
    Files.writeString(
        f,
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: root
        spec:
          hosts: [product-service]
          http:
          - match: [{uri: {prefix: /api}}]
            delegate: {name: product-routes}
          - route: [{destination: {host: product-service}}]
          tcp:
          - match: [{port: 9000}]
            route: [{destination: {host: product-service, port: {number: 9000}}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: product-routes
        spec:
          http:
          - route: [{destination: {host: product-service}}]
        """);
    List<Diagnostic> d =
        Analyzers.analyze(List.of(f, MANIFESTS.resolve("product-service.yaml"))).stream()
            .filter(m -> m.code().equals("SM0103") || m.code().equals("SM0104"))
            .toList();
    // delegation is enforced: neither the root nor its delegate is reported
    assertThat(d)
        .extracting(m -> m.name() + " " + m.message())
        .containsExactly(
            "root The tcp routes are not enforced by the local mesh's sidecars (apps reach them as"
                + " an HTTP proxy, with no traffic interception): Istio routes these connections"
                + " by them, as this mesh does at gateways and in docker compose or on"
                + " Kubernetes.");
    // the walkthrough's own rules use nothing this mesh leaves unenforced
    assertThat(Analyzers.analyze(List.of(MANIFESTS)))
        .extracting(Diagnostic::code)
        .doesNotContain("SM0103");
  }

  @Test
  void aDelegateThatIsNotFoundOrNotExportedIsSm0104() throws IOException {
    Path f = dir.resolve("vs.yaml");
    Files.writeString(
        f,
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: root
        spec:
          hosts: [product-service]
          http:
          - match: [{uri: {prefix: /a}}]
            delegate: {name: missing}
          - match: [{uri: {prefix: /b}}]
            delegate: {name: hidden, namespace: team}
          - match: [{uri: {prefix: /c}}]
            delegate: {name: other-root}
          - match: [{uri: {prefix: /d}}]
            delegate: {name: shared, namespace: team}
          - route: [{destination: {host: product-service}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: hidden, namespace: team}
        spec:
          exportTo: [.]
          http:
          - route: [{destination: {host: product-service.default.svc.cluster.local}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: shared, namespace: team}
        spec:
          exportTo: [default]
          http:
          - route: [{destination: {host: product-service.default.svc.cluster.local}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: other-root}
        spec:
          hosts: [other.example.com]
          http:
          - route: [{destination: {host: product-service}}]
        """);
    List<Diagnostic> d =
        Analyzers.analyze(List.of(f, MANIFESTS.resolve("product-service.yaml"))).stream()
            .filter(m -> m.code().equals("SM0104"))
            .toList();
    assertThat(d)
        .extracting(m -> m.source().line() + " " + m.message())
        .containsExactly(
            "9 The delegate VirtualService default/missing is not found (a delegate has no"
                + " hosts): Istio drops this rule, its traffic goes to the next rule.",
            "11 The delegate VirtualService team/hidden is not exported to namespace default:"
                + " Istio drops this rule, its traffic goes to the next rule.",
            "13 The delegate VirtualService default/other-root is not found (a delegate has no"
                + " hosts): Istio drops this rule, its traffic goes to the next rule.");
  }

  @Test
  void sourceLabelsSelectingNoWorkloadAreSm0102() throws IOException {
    Path f = dir.resolve("vs.yaml");
    Files.writeString(
        f,
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: product-vs
        spec:
          hosts: [product-service]
          http:
          - match:
            - sourceLabels: {app: frontend}
            - sourceLabels: {app: fronted}
            - sourceLabels: {app: frontend}
              sourceNamespace: shop
            route: [{destination: {host: product-service}}]
        """);
    List<Diagnostic> d =
        Analyzers.analyze(
            List.of(
                f,
                MANIFESTS.resolve("frontend-service.yaml"),
                MANIFESTS.resolve("product-service.yaml"),
                MANIFESTS.resolve("product-service-v1.yaml")));
    assertThat(d)
        .extracting(Diagnostic::toIstioctlLine)
        .containsExactly(
            "Warning [SM0102] (VirtualService default/product-vs "
                + f
                + ":"
                + lineOf(f, "{app: fronted}")
                + ") The sourceLabels app=fronted select no workload: the rule applies to no"
                + " client.",
            "Warning [SM0102] (VirtualService default/product-vs "
                + f
                + ":"
                + (lineOf(f, "{app: fronted}") + 1)
                + ") The sourceLabels app=frontend in namespace shop select no workload: the rule"
                + " applies to no client.");
  }

  private static int lineOf(Path f, String text) throws IOException {
    List<String> lines = Files.readAllLines(f);
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).contains(text)) {
        return i + 1;
      }
    }
    throw new AssertionError(text);
  }
}
