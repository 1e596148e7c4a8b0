package io.shopmesh.mesh.meshctl;

import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.LoadResult;
import io.shopmesh.mesh.meshctl.compose.ComposeGenerator;
import io.shopmesh.mesh.meshctl.compose.ComposeGenerator.Interception;
import io.shopmesh.mesh.meshctl.local.GatewayCredentials;
import io.shopmesh.mesh.meshctl.local.MeshHome;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code meshctl compose}: the docker-compose.yml that runs the manifests as containers. */
@Command(
    name = "compose",
    mixinStandardHelpOptions = true,
    description = {
      "Prints the docker-compose.yml that runs DIR's Deployments as pods of containers (pause holder,",
      "istio-init, istio-proxy sidecar, app), istiod watching DIR, the ingress gateway and the payment provider."
    })
public final class ComposeCommand implements Callable<Integer> {

  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "DIR",
      description = "Directory of Kubernetes and Istio YAML (default: manifests/).")
  Path dir;

  @Option(
      names = {"-o", "--output"},
      paramLabel = "FILE",
      description = "Write to FILE instead of stdout.")
  Path output;

  @Option(
      names = "--interception",
      defaultValue = "redirect",
      paramLabel = "MODE",
      description =
          "redirect (istio-init iptables rules, default) or none (apps use the sidecar as HTTP proxy).")
  String interception;

  @Option(
      names = "--subnet",
      defaultValue = "10.244.0",
      paramLabel = "A.B.C",
      description = "The compose network's /24 (default: ${DEFAULT-VALUE}).")
  String subnet;

  @Override
  public Integer call() throws IOException {
    Path d = dir != null ? dir : MeshHome.home().resolve("manifests");
    LoadResult loaded = new ConfigLoader().load(List.of(d));
    for (Diagnostic diag : loaded.diagnostics()) {
      System.err.println(diag);
    }
    if (loaded.config().deployments().isEmpty()) {
      throw new MeshctlException("no Deployments in " + d);
    }
    Interception mode =
        switch (interception.toLowerCase(Locale.ROOT)) {
          case "redirect" -> Interception.REDIRECT;
          case "none" -> Interception.NONE;
          default ->
              throw new MeshctlException("--interception: redirect or none, not " + interception);
        };
    // compose resolves relative paths against the file's own directory, the repository root
    String configDir =
        dir == null
            ? "./manifests"
            : dir.isAbsolute() ? dir.toString() : "./" + dir.normalize().toString();
    String text =
        new ComposeGenerator(
                loaded.config(), new ComposeGenerator.Options(subnet, mode, configDir, 1L))
            .generate();
    Path certs = MeshHome.home().resolve(".mesh").resolve("certs");
    if (GatewayCredentials.ensureShopCredential(certs)) {
      System.err.println(
          "meshctl: made the gateway's shop-credential for "
              + GatewayCredentials.SHOP_HOST
              + "; its CA: "
              + GatewayCredentials.shopCa(certs));
    }
    if (output != null) {
      Files.writeString(output, text, StandardCharsets.UTF_8);
    } else {
      System.out.print(text);
      System.out.flush();
    }
    return 0;
  }
}
