package io.shopmesh.mesh.meshctl;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class AnalyzeCommandTest {

  private static final Path MANIFESTS = Path.of("../../manifests");

  @TempDir Path dir;

  private record Run(int exit, String out) {}

  private static Run run(String... args) {
    AnalyzeCommand cmd = new AnalyzeCommand();
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    cmd.out = new PrintStream(buf, true, StandardCharsets.UTF_8);
    int exit = new CommandLine(cmd).execute(args);
    return new Run(exit, buf.toString(StandardCharsets.UTF_8));
  }

  @Test
  void cleanManifestsSayNoIssuesLikeIstioctl() {
    Run r = run(MANIFESTS.toString());
    assertThat(r.exit()).isZero();
    assertThat(r.out())
        .isEqualTo("\u2714 No validation issues found when analyzing namespace: default.\n");
  }

  @Test
  void walkthroughLiteralGetsTheTrapExplainedAsAWarning() {
    Run r = run(MANIFESTS.resolve("variants/payment-walkthrough-literal.yaml").toString());
    assertThat(r.exit()).isZero();
    assertThat(r.out())
        .startsWith("Warning [SM0101] (VirtualService default/payment-vs ")
        .contains("cannot apply to application-originated TLS");
  }

  @Test
  void aResourceInTwoFilesOfTheDirectoryIsAnErrorNamingBoth() throws IOException {
    try (var s = Files.list(MANIFESTS)) {
      for (Path p : s.filter(p -> p.toString().endsWith(".yaml")).toList()) {
        Files.copy(p, dir.resolve(p.getFileName()));
      }
    }
    Files.copy(
        MANIFESTS.resolve("variants/product-virtualservice-50-50.yaml"), dir.resolve("zz.yaml"));
    Run r = run(dir.toString());
    assertThat(r.exit()).isEqualTo(AnalyzeCommand.ISSUES_FOUND);
    assertThat(r.out())
        .contains("Error [SM0004] (VirtualService default/product-vs")
        .contains(dir.resolve("product-virtualservice.yaml") + ":1 and " + dir.resolve("zz.yaml"))
        .doesNotContain("Exception");
  }

  @Test
  void brokenFilesGiveOneLineEachAndExit79() throws IOException {
    Files.writeString(
        dir.resolve("a-bad.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n bad: [x\n");
    Files.writeString(
        dir.resolve("b-weight.yaml"),
        """
        apiVersion: networking.istio.io/v1alpha3
        kind: VirtualService
        metadata:
          name: vs
        spec:
          hosts: [a.example.com]
          http:
          - match:
            - uri:
                regex: "^/(?!admin).*"
            route:
            - destination: {host: a.example.com}
              weight: -15
        """);
    Run r = run(dir.toString());
    assertThat(r.exit()).isEqualTo(AnalyzeCommand.ISSUES_FOUND);
    String[] lines = r.out().split("\n");
    assertThat(lines).hasSize(4);
    assertThat(lines[0])
        .startsWith("Error [SM0001] (" + dir.resolve("a-bad.yaml") + ":5) cannot parse YAML");
    assertThat(lines[1])
        .startsWith(
            "Error [IST0106] (VirtualService default/vs " + dir.resolve("b-weight.yaml") + ":10)")
        .contains("Istio uses RE2 style regex-based match");
    assertThat(lines[2])
        .isEqualTo(
            "Error [IST0101] (VirtualService default/vs "
                + dir.resolve("b-weight.yaml")
                + ":12) Referenced host not found: \"a.example.com\"");
    assertThat(lines[3])
        .isEqualTo(
            "Error [IST0106] (VirtualService default/vs "
                + dir.resolve("b-weight.yaml")
                + ":13) Schema validation error: spec.http[0].route[0].weight: weight -15 < 0");
    assertThat(r.out()).doesNotContain("Exception").doesNotContain("\tat ");
  }

  @Test
  void jsonOutputHasIstioctlFields() throws IOException {
    Run r =
        run(
            "-o",
            "json",
            MANIFESTS.resolve("variants/payment-walkthrough-literal.yaml").toString());
    JsonNode arr = new ObjectMapper().readTree(r.out());
    assertThat(arr).hasSize(1);
    JsonNode m = arr.get(0);
    assertThat(m.path("code").asText()).isEqualTo("SM0101");
    assertThat(m.path("level").asText()).isEqualTo("Warning");
    assertThat(m.path("origin").asText()).isEqualTo("VirtualService default/payment-vs");
    assertThat(m.path("reference").asText()).endsWith("payment-walkthrough-literal.yaml:36");
  }

  @Test
  void failureThresholdWarningMakesWarningsFail() {
    Run r =
        run(
            "--failure-threshold",
            "Warning",
            MANIFESTS.resolve("variants/payment-walkthrough-literal.yaml").toString());
    assertThat(r.exit()).isEqualTo(AnalyzeCommand.ISSUES_FOUND);
  }
}
