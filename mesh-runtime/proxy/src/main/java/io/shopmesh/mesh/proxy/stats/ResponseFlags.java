package io.shopmesh.mesh.proxy.stats;

/** Envoy's response flags, printed in Envoy's fixed order. */
public final class ResponseFlags {
  public static final int UH = 1;
  public static final int UT = 1 << 1;
  public static final int LR = 1 << 2;
  public static final int UR = 1 << 3;
  public static final int UF = 1 << 4;
  public static final int UC = 1 << 5;
  public static final int UO = 1 << 6;
  public static final int NR = 1 << 7;
  public static final int DI = 1 << 8;
  public static final int FI = 1 << 9;
  public static final int DC = 1 << 10;
  public static final int URX = 1 << 11;
  public static final int DPE = 1 << 12;
  public static final int NC = 1 << 13;
  private static final String[] NAMES = {
    "UH", "UT", "LR", "UR", "UF", "UC", "UO", "NR", "DI", "FI", "DC", "URX", "DPE", "NC"
  };

  private ResponseFlags() {}

  public static String toString(int flags) {
    if (flags == 0) {
      return "-";
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < NAMES.length; i++) {
      if ((flags & (1 << i)) != 0) {
        if (sb.length() > 0) {
          sb.append(',');
        }
        sb.append(NAMES[i]);
      }
    }
    return sb.toString();
  }
}
