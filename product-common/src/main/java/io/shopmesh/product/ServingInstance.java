package io.shopmesh.product;

import jakarta.enterprise.context.ApplicationScoped;
import java.net.InetAddress;

/** Which version and which pod answer: shown in every response so a person sees the split. */
@ApplicationScoped
public class ServingInstance {

  private final String version;
  private final String pod;

  public ServingInstance(ProductConfig config) {
    this.version = config.version();
    this.pod = config.pod().filter(s -> !s.isBlank()).orElseGet(ServingInstance::defaultPod);
  }

  private static String defaultPod() {
    String env = System.getenv("POD_NAME");
    if (env != null && !env.isBlank()) {
      return env;
    }
    env = System.getenv("HOSTNAME");
    if (env != null && !env.isBlank()) {
      return env;
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (Exception e) {
      return "unknown";
    }
  }

  public String version() {
    return version;
  }

  public String pod() {
    return pod;
  }
}
