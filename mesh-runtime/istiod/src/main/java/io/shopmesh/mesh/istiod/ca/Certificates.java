package io.shopmesh.mesh.istiod.ca;

import java.math.BigInteger;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** What istiod's certificate makers share: random serials and signing with an RSA or EC key. */
public final class Certificates {

  private static final SecureRandom RANDOM = new SecureRandom();

  private Certificates() {}

  public static BigInteger serial() {
    return new BigInteger(64, RANDOM);
  }

  public static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws Exception {
    String alg = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
    return new JcaX509CertificateConverter()
        .getCertificate(b.build(new JcaContentSignerBuilder(alg).build(key)));
  }
}
