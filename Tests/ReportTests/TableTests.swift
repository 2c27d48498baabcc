import Foundation
import Report
import Testing

@Suite struct TableTests {
  @Test func rendersPaddedMarkdown() {
    var table = Table(header: ["name", "value"], alignments: [.left, .right])
    table.append(["dense", "1.0"])
    table.append(["a|b", "12.25"])
    #expect(
      table.markdown == """
        | name  | value |
        |:------|------:|
        | dense |   1.0 |
        | a\\|b  | 12.25 |

        """)
  }

  @Test func csvQuotesWhatNeedsIt() {
    var table = Table(header: ["a", "b"])
    table.append(["1,5", "say \"hi\""])
    table.append(["plain", "x"])
    #expect(table.csv == "a,b\n\"1,5\",\"say \"\"hi\"\"\"\nplain,x\n")
  }

  @Test func jsonRecordsKeepNumbersAndEscapeStrings() {
    var table = Table(header: ["name", "value"])
    table.append(["tab\there \"q\"", "2.5"])
    table.append(["n/a", "nan"])
    #expect(
      table.jsonRecords(numericColumns: ["value"])
        == "[{\"name\": \"tab\\there \\\"q\\\"\", \"value\": 2.5},\n {\"name\": \"n/a\", \"value\": \"nan\"}]"
    )
    #expect(JSON.quoted("\u{1}") == "\"\\u0001\"")
    #expect(JSON.quoted("\u{8}\u{C}é") == "\"\\b\\fé\"")  // as Python's json.dumps(ensure_ascii=False)
  }

  @Test func fixedDecimals() {
    #expect(Format.fixed(2.5, 2) == "2.50")
    #expect(Format.fixed(-0.004, 2) == "0.00")
    #expect(Format.fixed(-1.005, 1) == "-1.0")
    #expect(Format.fixed(1234.5678, 3) == "1234.568")
    #expect(Format.fixed(7, 0) == "7")
    #expect(Format.fixed(0.05, 1) == "0.1")
    #expect(Format.fixed(.nan, 2) == "nan")
  }

  /// One decimal convention (kB, MB, GB, TB = 10³, 10⁶, 10⁹, 10¹²), three significant digits.
  @Test func bytesForPeople() {
    #expect(Format.bytes(0) == "0 B" && Format.bytes(512) == "512 B" && Format.bytes(999) == "999 B")
    #expect(Format.bytes(1000) == "1.00 kB" && Format.bytes(5_120) == "5.12 kB")
    #expect(Format.bytes(999_600) == "1.00 MB" && Format.bytes(9_996) == "10.0 kB")
    #expect(Format.bytes(2_090_422_872) == "2.09 GB" && Format.bytes(13_840_000_000) == "13.8 GB")
    #expect(Format.bytes(41_829_514_368.0) == "41.8 GB" && Format.bytes(456_000_000_000) == "456 GB")
    #expect(Format.bytes(1.3e12) == "1.30 TB")
  }

  @Test func bars() {
    #expect(Format.bar(1, maximum: 1, width: 3) == "███")
    #expect(Format.bar(0.5, maximum: 1, width: 3) == "█▌")
    #expect(Format.bar(0, maximum: 1, width: 3) == "")
  }
}

@Suite struct LineChartTests {
  @Test func svgHasOneLinePerSeriesAndEscapesText() {
    let chart = LineChart(
      title: "load <by> step", xLabel: "step", yLabel: "share",
      series: [.init(name: "a&b", values: [0, 0.5, 1]), .init(name: "c", values: [1, .nan, 0])])
    let svg = chart.svg
    #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
    #expect(svg.components(separatedBy: "<polyline").count == 3)
    #expect(svg.contains("load &lt;by&gt; step") && svg.contains("a&amp;b"))
    #expect(!svg.contains("nan"))
  }

  /// Series with their own x positions share an axis from the smallest to the largest
  /// position (plot from x = 60 to 570 at the default size), labelled with the positions.
  @Test func positionedSeriesShareAnAxisOfTheirValues() {
    let chart = LineChart(
      title: "t", xLabel: "FLOPs", yLabel: "loss",
      series: [
        .init(name: "long", values: [3, 2, 1], positions: [0, 1e12, 2e12]),
        .init(name: "short", values: [3, 2.5], positions: [0, 5e11]),
      ])
    let polylines = chart.svg.components(separatedBy: "points=\"").dropFirst().map {
      $0.prefix { $0 != "\"" }
    }
    #expect(polylines.count == 2)
    #expect(polylines[0].hasPrefix("60.0,") && polylines[0].contains(" 570.0,"))
    #expect(polylines[1].hasSuffix("") && polylines[1].contains(" 187.5,"))
    #expect(chart.svg.contains(">2e+12</text>") && chart.svg.contains(">1e+12</text>"))
  }
}

@Suite struct AtomicFileTests {
  @Test func writesAndReplacesWithoutLeavingTemporaries() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-atomic-\(UInt64.random(in: 0..<1 << 40))")
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("out.csv").path
    try AtomicFile.write("first", to: path)
    try AtomicFile.write("second", to: path)
    #expect(try String(contentsOfFile: path, encoding: .utf8) == "second")
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out.csv"])
  }

  /// Failed writes name the path the user gave and say why in words: no temporary name,
  /// no Foundation error dump, never "cannot read".
  @Test func failedWritesNameThePathAndTheReason() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-atomic-\(UInt64.random(in: 0..<1 << 40))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let file = folder.appendingPathComponent("plain").path
    try AtomicFile.write("x", to: file)
    for path in ["/proc/moekit/nope/out.csv", file + "/below/out.csv", file + "/out.csv"] {
      do {
        try AtomicFile.write("x", to: path)
        Issue.record("\(path) was written")
      } catch let error as FileWriteError {
        #expect(error.path == path)
        #expect("\(error)".hasPrefix("cannot write \(path): ") && !"\(error)".contains("Domain"), "\(error)")
        #expect(!"\(error)".contains(".tmp"), "\(error)")
      }
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["plain"])
  }

  /// The file system's errors in words, whichever way Foundation wraps them.
  @Test func reasonsAreWords() {
    #expect(
      FileWriteError(path: "p", error: CocoaError(.fileWriteOutOfSpace)).description
        == "cannot write p: no space left on device")
    #expect(
      FileWriteError(path: "p", error: CocoaError(.fileWriteNoPermission)).reason == "permission denied")
    #expect(
      FileWriteError(path: "p", error: NSError(domain: NSPOSIXErrorDomain, code: Int(EROFS))).reason
        == String(cString: strerror(EROFS)))
  }
}

@Suite struct StopwatchTests {
  @Test func runsTheBodyOnceMoreThanItTimes() {
    var calls = 0
    let seconds = Stopwatch.median(repetitions: 3) { calls += 1 }
    #expect(calls == 4)
    #expect(seconds >= 0)
  }
}

@Suite struct ProgressBarTests {
  @Test func lineShowsTheShareDoneAndTheLabel() {
    var bar = ProgressBar(total: 4, stage: "runs")
    #expect(bar.line.hasPrefix("runs [" + String(repeating: ".", count: 30) + "] 0 %  ETA 0 s"))
    bar.advance(label: "first")
    bar.advance()
    #expect(bar.done == 2)
    #expect(
      bar.line.hasPrefix(
        "runs [" + String(repeating: "#", count: 15) + String(repeating: ".", count: 15) + "] 50 %"))
    #expect(bar.line.hasSuffix("  first"))
    bar.advance()
    bar.advance()
    bar.advance()
    #expect(bar.line.contains("] 100 %  ETA 0 s"))
  }
}
