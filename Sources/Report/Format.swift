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

  /// A horizontal bar of `value / maximum · width` block characters, with eighth-block
  /// resolution (`█▉▊▋▌▍▎▏`), for terminal charts.
  public static func bar(_ value: Double, maximum: Double, width: Int) -> String {
    guard maximum > 0, value > 0, width > 0 else { return "" }
    let eighths = Int((min(value, maximum) / maximum * Double(width * 8)).rounded())
    let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8]
    return String(repeating: "█", count: eighths / 8) + partial
  }
}
