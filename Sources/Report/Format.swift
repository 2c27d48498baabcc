/// Number formatting for reports, without Foundation.
public enum Format {
  /// `value` rounded to `digits` decimals, always showing them (`fixed(2.5, 2)` is
  /// `"2.50"`); non-finite values print as Swift does (`"nan"`, `"inf"`).
  public static func fixed(_ value: Double, _ digits: Int) -> String {
    precondition(digits >= 0 && digits <= 15, "Format.fixed: \(digits) decimals is outside 0...15")
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 1e18 else { return "\(value)" }
    let whole = Int(scaled)
    let divisor = Int(scale)
    let integer = String(whole / divisor)
    let sign = value < 0 && whole != 0 ? "-" : ""
    guard digits > 0 else { return sign + integer }
    let fraction = String(whole % divisor)
    return sign + integer + "." + String(repeating: "0", count: digits - fraction.count) + fraction
  }

  /// `bytes` for people, in decimal units (MoEKit's one convention, the one bandwidths in
  /// GB/s use: 1 kB = 10³ B, 1 MB = 10⁶ B, 1 GB = 10⁹ B, 1 TB = 10¹² B): three significant
  /// digits in the largest unit that keeps the number at least 1 (`bytes(2_090_422_872)` is
  /// `"2.09 GB"`, `bytes(512)` is `"512 B"`).
  public static func bytes(_ bytes: Double) -> String {
    guard bytes.isFinite else { return "\(bytes) B" }
    let units: [(Double, String)] = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")]
    guard let (size, name) = units.first(where: { abs(bytes) >= $0.0 * 0.9995 }) else {
      return "\(Int(bytes.rounded())) B"
    }
    let value = bytes / size
    return fixed(value, abs(value) < 9.995 ? 2 : abs(value) < 99.95 ? 1 : 0) + " " + name
  }

  /// `bytes(Double(n))`.
  public static func bytes(_ n: Int) -> String { bytes(Double(n)) }

  /// A horizontal bar of `value / maximum · width` block characters, with eighth-block
  /// resolution (`█▉▊▋▌▍▎▏`), for terminal charts.
  public static func bar(_ value: Double, maximum: Double, width: Int) -> String {
    guard maximum > 0, value > 0, width > 0 else { return "" }
    let eighths = Int((min(value, maximum) / maximum * Double(width * 8)).rounded())
    let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8]
    return String(repeating: "█", count: eighths / 8) + partial
  }
}
