package io.shopmesh.mesh.proxy.xds;

import io.grpc.Metadata;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.Logger;

/**
 * This pod's token for istiod, sent as {@code authorization: Bearer} on every call to it (xDS and
 * certificate signing), as Istio's proxies send the pod's service-account token. Read at each new
 * call, so a replaced token is picked up.
 */
public final class IstiodToken {

  private static final Logger LOG = Logger.getLogger(IstiodToken.class.getName());

  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private IstiodToken() {}

  /** Adds the token from {@code file} to {@code headers}; nothing when there is none. */
  public static Metadata attach(Path file, Metadata headers) {
    if (file == null) {
      return headers;
    }
    try {
      headers.put(AUTHORIZATION, "Bearer " + Files.readString(file).trim());
    } catch (IOException e) {
      LOG.warning("cannot read the istiod token " + file + ": " + e.getMessage());
    }
    return headers;
  }
}
