package io.shopmesh.mesh.meshctl;

import io.shopmesh.mesh.meshctl.local.Commands;
import io.shopmesh.mesh.meshctl.local.GatewayCredentials;
import io.shopmesh.mesh.meshctl.local.MeshHome;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code meshctl create secret tls NAME --cert F --key F}, as kubectl's. */
@Command(
    name = "create",
    mixinStandardHelpOptions = true,
    description = "Creates a resource the local mesh keeps outside the config directory.",
    subcommands = {CreateCommand.Secret.class})
public final class CreateCommand implements Runnable {

  @Override
  public void run() {
    throw new MeshctlException("name what to create: meshctl create secret tls NAME ...", 2);
  }

  @Command(
      name = "secret",
      mixinStandardHelpOptions = true,
      description = "Creates a secret.",
      subcommands = {Tls.class})
  static final class Secret implements Runnable {
    @Override
    public void run() {
      throw new MeshctlException("name the secret's type: meshctl create secret tls NAME ...", 2);
    }
  }

  @Command(
      name = "tls",
      mixinStandardHelpOptions = true,
      description = {
        "Creates a TLS secret a Gateway server names with credentialName: the gateway reads it",
        "from <state dir>/certs/NAME/tls.crt and tls.key (ca.crt for MUTUAL), as a mounted",
        "kubernetes.io/tls Secret. Read when the gateway starts or its listener changes."
      })
  static final class Tls implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "NAME", description = "The credentialName.")
    String name;

    @Option(names = "--cert", required = true, paramLabel = "FILE", description = "PEM chain.")
    Path cert;

    @Option(names = "--key", required = true, paramLabel = "FILE", description = "PEM key.")
    Path key;

    @Option(
        names = "--ca-cert",
        paramLabel = "FILE",
        description = "PEM CA client certificates must chain to (tls.mode MUTUAL).")
    Path caCert;

    @Mixin MeshOptions mesh;

    @Override
    public Integer call() {
      for (Path f : caCert == null ? new Path[] {cert, key} : new Path[] {cert, key, caCert}) {
        if (!Files.isRegularFile(f)) {
          throw new MeshctlException("no such file: " + f, 2);
        }
      }
      Path root =
          new Commands.Layout(
                  MeshHome.home(), mesh.store().dir(), null, null, null, 0, null, null, null)
              .certsRoot();
      Path dir;
      try {
        dir = GatewayCredentials.create(root, name, cert, key, caCert);
      } catch (IllegalArgumentException e) {
        throw new MeshctlException(e.getMessage(), 2);
      }
      System.out.println("secret/" + name + " created (" + dir + ")");
      return 0;
    }
  }
}
