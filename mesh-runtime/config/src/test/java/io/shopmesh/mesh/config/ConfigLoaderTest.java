package io.shopmesh.mesh.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.shopmesh.mesh.testing.Manifests;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

  @TempDir Path dir;

  @Test
  void serviceTargetPortMayBeANumberOrAName() {
    LoadResult r =
        new ConfigLoader()
            .load(
                Path.of("svc.yaml"),
                """
        apiVersion: v1
        kind: Service
        metadata:
          name: api
        spec:
          selector:
            app: api
          ports:
          - name: http
            port: 8080
            targetPort: 9090
          - name: grpc
            port: 9000
            targetPort: grpc
        """);
    assertThat(r.diagnostics()).isEmpty();
    var ports = r.config().services().get(0).object().getSpec().getPorts();
    assertThat(ports.get(0).getTargetPort().getIntVal()).isEqualTo(9090);
    assertThat(ports.get(1).getTargetPort().getStrVal()).isEqualTo("grpc");
  }

  @Test
  void everyObjectKnowsItsFileAndLineAndAllVersionsAreRead() throws IOException {
    Path f =
        write(
            "all.yaml",
            """
        # leading comment
        apiVersion: networking.istio.io/v1alpha3
        kind: VirtualService
        metadata:
          name: a
        spec:
          hosts: [a]
          http:
          - route:
            - destination:
                host: a
        ---
        ---
        # comment-only document
        ---
        apiVersion: networking.istio.io/v1beta1
        kind: DestinationRule
        metadata:
          name: b
          namespace: shop
        spec:
          host: a
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: c}
        spec:
          servers:
          - port: {number: 80, name: http, protocol: HTTP}
            hosts: [shop.example.com]
        """);
    LoadResult r = new ConfigLoader().load(List.of(f));
    assertThat(r.diagnostics()).isEmpty();
    MeshConfig c = r.config();
    assertThat(c.virtualServices())
        .singleElement()
        .satisfies(
            l -> {
              assertThat(l.source().line())
                  .isEqualTo(1); // the document's leading comment belongs to it
              assertThat(l.source().at("metadata.name").line()).isEqualTo(5);
              assertThat(l.source().file()).isEqualTo(f);
              assertThat(l.source().at("spec.http[0].route[0].destination.host").line())
                  .isEqualTo(11);
              assertThat(l.object().getApiVersion()).isEqualTo("networking.istio.io/v1");
            });
    assertThat(c.destinationRules())
        .singleElement()
        .satisfies(
            l -> {
              assertThat(l.source().line()).isEqualTo(16);
              assertThat(l.namespace()).isEqualTo("shop");
            });
    assertThat(c.gateways())
        .singleElement()
        .satisfies(l -> assertThat(l.source().line()).isEqualTo(24));
  }

  @Test
  void badYamlIsOneLineWithFileAndLineAndOtherDocumentsStillLoad() throws IOException {
    Path f =
        write(
            "bad.yaml",
            """
        apiVersion: v1
        kind: Service
        metadata:
          name: s
        spec:
          ports:
          - port: 80
         broken: [x
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: ok
        spec:
          ports:
          - port: 8080
        """);
    LoadResult r = new ConfigLoader().load(List.of(f));
    assertThat(r.diagnostics())
        .singleElement()
        .satisfies(
            d -> {
              assertThat(d.level()).isEqualTo(Diagnostic.Level.ERROR);
              assertThat(d.source().line()).isEqualTo(8);
              assertThat(d.toIstioctlLine())
                  .startsWith("Error [SM0001] (" + f + ":8) cannot parse YAML: ")
                  .doesNotContain("\n")
                  .doesNotContain("Exception");
            });
    assertThat(r.config().services())
        .singleElement()
        .satisfies(l -> assertThat(l.name()).isEqualTo("ok"));
  }

  @Test
  void unknownKindsAreReportedAndSkipped() throws IOException {
    Path f =
        write(
            "k.yaml",
            """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: r}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: m}
        """);
    LoadResult r = new ConfigLoader().load(List.of(f));
    assertThat(r.diagnostics()).extracting(Diagnostic::code).containsExactly("SM0002", "SM0002");
    assertThat(r.diagnostics())
        .extracting(Diagnostic::level)
        .containsOnly(Diagnostic.Level.WARNING);
    assertThat(r.diagnostics().get(1).source().line()).isEqualTo(5);
  }

  @Test
  void invalidObjectsAreLeftOutWithFieldLine() throws IOException {
    Path f =
        write(
            "vs.yaml",
            """
        apiVersion: networking.istio.io/v1alpha3
        kind: VirtualService
        metadata:
          name: product-vs
        spec:
          hosts:
          - product-service
          http:
          - route:
            - destination:
                host: product-service
              weight: -15
        """);
    LoadResult r = new ConfigLoader().load(List.of(f));
    assertThat(r.config().virtualServices()).isEmpty();
    assertThat(r.diagnostics())
        .singleElement()
        .extracting(Diagnostic::toIstioctlLine)
        .isEqualTo(
            "Error [IST0106] (VirtualService default/product-vs "
                + f
                + ":12) Schema validation error: "
                + "spec.http[0].route[0].weight: weight -15 < 0");
  }

  @Test
  void missingPathsAndDuplicateKeysAreReported() throws IOException {
    Path f = write("dup.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  name: b\n");
    LoadResult r = new ConfigLoader().load(List.of(f, dir.resolve("nope.yaml")));
    assertThat(r.diagnostics())
        .extracting(Diagnostic::message)
        .containsExactlyInAnyOrder(
            "cannot parse YAML: mapping key \"name\" already defined at line 4",
            "no such file or directory");
  }

  @Test
  void authorizationPoliciesOfBothVersionsAreReadAndCustomIsReportedAsNotEnforced() {
    String yaml =
        """
        apiVersion: security.istio.io/v1beta1
        kind: AuthorizationPolicy
        metadata: {name: deny-admin, namespace: default}
        spec:
          action: DENY
          rules: [{to: [{operation: {paths: [/admin*]}}]}]
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: ext, namespace: default}
        spec:
          action: CUSTOM
          provider: {name: my-authz}
          rules: [{}]
        """;
    LoadResult r = new ConfigLoader().load(Path.of("authz.yaml"), yaml);
    assertThat(r.config().authorizationPolicies())
        .extracting(l -> l.object().getMetadata().getName())
        .containsExactly("deny-admin", "ext");
    assertThat(r.config().authorizationPolicies().get(0).object().getApiVersion())
        .isEqualTo("security.istio.io/v1");
    assertThat(r.diagnostics())
        .anySatisfy(
            d -> {
              assertThat(d.code()).isEqualTo("SM0002");
              assertThat(d.level()).isEqualTo(Diagnostic.Level.WARNING);
              assertThat(d.message()).contains("CUSTOM").contains("not enforced");
            });
  }

  @Test
  void theProjectManifestsLoadCleanly() {
    Path manifests = Manifests.dir();
    LoadResult r = new ConfigLoader().load(List.of(manifests, manifests.resolve("variants")));
    assertThat(r.diagnostics()).isEmpty();
    assertThat(r.config().deployments()).hasSize(4);
    // the variants redefine product-vs, payment-vs and payment-api: the last definition wins
    assertThat(r.config().virtualServices()).hasSize(4);
    assertThat(r.config().serviceEntries())
        .singleElement()
        .satisfies(
            se ->
                assertThat(se.source().file().toString())
                    .endsWith("payment-walkthrough-literal.yaml"));
  }

  private Path write(String name, String text) throws IOException {
    Path f = dir.resolve(name);
    Files.writeString(f, text);
    return f;
  }
}
