package io.shopmesh.mesh.meshctl;

import io.shopmesh.mesh.meshctl.kube.KubeMesh;
import io.shopmesh.mesh.meshctl.kube.KubeOptions;
import io.shopmesh.mesh.meshctl.local.MeshState;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code meshctl logs POD [-c CONTAINER] [-f]}: a container's output, like kubectl logs. */
@Command(
    name = "logs",
    mixinStandardHelpOptions = true,
    description = {
      "Prints a container's log. The app container by default; -c istio-proxy for the sidecar",
      "(its access log, with Envoy's response flags), -c discovery for istiod (pod 'istiod')."
    })
public final class LogsCommand implements Callable<Integer> {

  @Parameters(
      index = "0",
      paramLabel = "POD",
      description = "Pod name (a unique prefix is enough).")
  String pod;

  @Option(
      names = {"-c", "--container"},
      paramLabel = "CONTAINER",
      description = "Container name.")
  String container;

  @Option(
      names = {"-f", "--follow"},
      description = "Keep printing new lines until Ctrl-C.")
  boolean follow;

  @Option(
      names = "--tail",
      defaultValue = "-1",
      paramLabel = "N",
      description = "Only the last N lines.")
  int tail;

  @Mixin MeshOptions mesh;

  @Mixin KubeOptions kube;

  @Override
  public Integer call() throws Exception {
    if (kube.kube) {
      try (KubeMesh km = kube.connect()) {
        KubeMesh.MeshPod p = km.pod(pod);
        String c = container != null ? container : p.defaultContainer();
        if (!p.containers().contains(c)) {
          throw new MeshctlException(
              "container '"
                  + c
                  + "' is not in pod "
                  + p.name()
                  + "; containers: "
                  + String.join(", ", p.containers()));
        }
        System.out.print(km.log(p, c, tail));
        System.out.flush();
      }
      return 0;
    }
    MeshState st =
        mesh.store()
            .read()
            .orElseThrow(
                () -> new MeshctlException("no mesh is running here; start one with ./meshctl up"));
    MeshState.PodState p = mesh.requirePod(st, pod);
    MeshState.ContainerState c =
        container == null
            ? p.defaultContainer()
            : p.container(container)
                .orElseThrow(
                    () ->
                        new MeshctlException(
                            "container '"
                                + container
                                + "' is not in pod "
                                + p.name()
                                + "; containers: "
                                + String.join(
                                    ", ",
                                    p.containers().stream()
                                        .map(MeshState.ContainerState::name)
                                        .toList())));
    Path log = Path.of(c.log());
    if (!Files.exists(log)) {
      throw new MeshctlException("no log yet at " + log);
    }
    if (tail >= 0) {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      lines.subList(Math.max(0, lines.size() - tail), lines.size()).forEach(System.out::println);
    } else {
      System.out.write(Files.readAllBytes(log));
      System.out.flush();
    }
    if (follow) {
      follow(log);
    }
    return 0;
  }

  private static void follow(Path log) throws IOException, InterruptedException {
    long pos = Files.size(log);
    byte[] buf = new byte[8192];
    while (true) {
      long size = Files.exists(log) ? Files.size(log) : 0;
      if (size < pos) {
        pos = 0; // truncated or replaced
      }
      if (size > pos) {
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
          f.seek(pos);
          int n;
          while ((n = f.read(buf)) > 0) {
            System.out.write(buf, 0, n);
            pos += n;
          }
          System.out.flush();
        }
      }
      Thread.sleep(250);
    }
  }
}
