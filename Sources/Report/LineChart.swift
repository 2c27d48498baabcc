import Foundation

/// A line chart rendered as a standalone SVG document: one polyline per series over a
/// shared x axis, with axes, tick labels, a title and a legend.
public struct LineChart: Sendable {
  /// A named sequence of `y` values at `x = 0, 1, 2, …`, or at given `positions`.
  public struct Series: Sendable {
    /// The legend entry.
    public var name: String
    /// The values.
    public var values: [Double]
    /// The `x` of each value (as many as `values`), or `nil` for `0, 1, 2, …`; a chart with
    /// positions labels its x axis with them.
    public var positions: [Double]?

    /// A series from its name and values.
    public init(name: String, values: [Double]) {
      self.name = name
      self.values = values
    }

    /// A series of `values` at x positions `positions`.
    ///
    /// - Precondition: as many positions as values.
    public init(name: String, values: [Double], positions: [Double]) {
      precondition(
        positions.count == values.count,
        "LineChart.Series: \(positions.count) positions for \(values.count) values")
      self.name = name
      self.values = values
      self.positions = positions
    }
  }

  /// The chart's title.
  public var title: String
  /// The x axis label.
  public var xLabel: String
  /// The y axis label.
  public var yLabel: String
  /// The lines.
  public var series: [Series]
  /// Width and height in pixels.
  public var size: (width: Int, height: Int) = (720, 400)

  /// A chart of `series`.
  public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
    self.title = title
    self.xLabel = xLabel
    self.yLabel = yLabel
    self.series = series
  }

  /// Twelve distinguishable colours (Tableau-like), cycled.
  static let palette = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
    "#bab0ac", "#1f77b4", "#8c564b",
  ]

  /// The SVG document. Non-finite values are skipped.
  public var svg: String {
    let (width, height) = (Double(size.width), Double(size.height))
    let (left, right, top, bottom) = (60.0, 150.0, 40.0, 50.0)
    let plotWidth = width - left - right
    let plotHeight = height - top - bottom
    let finite = series.flatMap(\.values).filter(\.isFinite)
    var low = finite.min() ?? 0
    var high = finite.max() ?? 1
    if low == high { (low, high) = (low - 0.5, high + 0.5) }
    if low > 0 && low < 0.5 * high { low = 0 }
    let count = max(2, series.map(\.values.count).max() ?? 2)
    let positioned = series.contains { $0.positions != nil }
    let xs = series.flatMap { $0.positions ?? $0.values.indices.map(Double.init) }.filter(\.isFinite)
    var (xLow, xHigh) = positioned ? (xs.min() ?? 0, xs.max() ?? 1) : (0, Double(count - 1))
    if xLow == xHigh { (xLow, xHigh) = (xLow - 0.5, xHigh + 0.5) }
    func x(_ v: Double) -> Double { left + plotWidth * (v - xLow) / (xHigh - xLow) }
    func y(_ v: Double) -> Double { top + plotHeight * (1 - (v - low) / (high - low)) }
    func number(_ v: Double) -> String { Format.fixed(v, 1) }

    var out = """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(size.width)" height="\(size.height)" \
      viewBox="0 0 \(size.width) \(size.height)" font-family="sans-serif" font-size="12">
      <rect width="100%" height="100%" fill="white"/>
      <text x="\(number(width / 2))" y="22" text-anchor="middle" font-size="15">\(Self.escaped(title))</text>

      """
    // Axes and ticks.
    out +=
      "<line x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(left + plotWidth)\" y2=\"\(top + plotHeight)\" stroke=\"black\"/>\n"
    out += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotHeight)\" stroke=\"black\"/>\n"
    for tick in 0...4 {
      let v = low + (high - low) * Double(tick) / 4
      out +=
        "<text x=\"\(left - 6)\" y=\"\(number(y(v) + 4))\" text-anchor=\"end\">\(Format.fixed(v, 2))</text>\n"
      out +=
        "<line x1=\"\(left)\" y1=\"\(number(y(v)))\" x2=\"\(left + plotWidth)\" y2=\"\(number(y(v)))\" stroke=\"#e0e0e0\"/>\n"
      let at = positioned ? xLow + (xHigh - xLow) * Double(tick) / 4 : Double((count - 1) * tick / 4)
      let label = positioned ? String(format: "%.3g", at) : "\(Int(at))"
      out +=
        "<text x=\"\(number(x(at)))\" y=\"\(top + plotHeight + 16)\" text-anchor=\"middle\">\(label)</text>\n"
    }
    out +=
      "<text x=\"\(number(left + plotWidth / 2))\" y=\"\(height - 12)\" text-anchor=\"middle\">\(Self.escaped(xLabel))</text>\n"
    out +=
      "<text x=\"16\" y=\"\(number(top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(number(top + plotHeight / 2)))\">\(Self.escaped(yLabel))</text>\n"
    // Lines and legend.
    for (index, s) in series.enumerated() {
      let colour = Self.palette[index % Self.palette.count]
      let points = s.values.enumerated().filter { $0.element.isFinite }.map {
        "\(number(x(s.positions?[$0.offset] ?? Double($0.offset)))),\(number(y($0.element)))"
      }
      out +=
        "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"/>\n"
      let legendY = top + 16 * Double(index)
      out +=
        "<line x1=\"\(left + plotWidth + 12)\" y1=\"\(number(legendY))\" x2=\"\(left + plotWidth + 32)\" y2=\"\(number(legendY))\" stroke=\"\(colour)\" stroke-width=\"3\"/>\n"
      out +=
        "<text x=\"\(left + plotWidth + 38)\" y=\"\(number(legendY + 4))\">\(Self.escaped(s.name))</text>\n"
    }
    return out + "</svg>\n"
  }

  /// `text` with the XML special characters escaped.
  static func escaped(_ text: String) -> String {
    var out = ""
    for c in text {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      default: out.append(c)
      }
    }
    return out
  }
}
