import CostModel
import Foundation
import Report

/// One table over every `config.json` in a folder (each subfolder's, and every `.json`
/// file at its top): total and active parameters, the active share, forward FLOPs per
/// token, cache bytes per token and the projected decode latency, at the run's settings,
/// sorted as asked.
struct ZooTable {
  /// What the rows are sorted by (largest first, but `name`).
  enum Order: String, CaseIterable {
    case name, total, active, share, flops, cache, latency
  }

  struct Row {
    var architecture: Architecture
    var file: String
    var flops: Double
    var cacheBytesPerToken: Double
    var latency: Double

    var share: Double { Double(architecture.activeParameters) / Double(architecture.totalParameters) }
  }

  var folder: String
  var settings: Settings
  var order: Order

  /// The config files of the folder, sorted by path.
  ///
  /// - Throws: `ConfigError.unreadableFile` when the folder cannot be listed.
  func files() throws -> [String] {
    let manager = FileManager.default
    let names: [String]
    do {
      names = try manager.contentsOfDirectory(atPath: folder).sorted()
    } catch {
      throw ConfigError.unreadableFile(path: folder, reason: "not a readable folder")
    }
    return names.compactMap { name in
      let path = (folder as NSString).appendingPathComponent(name)
      var isFolder: ObjCBool = false
      if manager.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
        let config = (path as NSString).appendingPathComponent("config.json")
        return manager.fileExists(atPath: config) ? config : nil
      }
      return name.hasSuffix(".json") ? path : nil
    }
  }

  /// The rows of every config that imports, and the files that do not with their errors.
  func rows() throws -> (rows: [Row], failures: [(String, String)]) {
    var rows: [Row] = []
    var failures: [(String, String)] = []
    for file in try files() {
      do {
        var a = try HuggingFaceConfig.architecture(contentsOfFile: file)
        let fileName = (file as NSString).lastPathComponent
        if fileName != "config.json" { a.name = (fileName as NSString).deletingPathExtension }
        let projection = DecodeProjection(
          a, on: settings.hardware, batch: settings.batch, context: settings.context,
          dataType: settings.dataType)
        rows.append(
          Row(
            architecture: a, file: file, flops: a.forwardFLOPsPerToken(context: settings.context),
            cacheBytesPerToken: a.cacheBytes(context: settings.context, dataType: settings.dataType)
              / Double(settings.context),
            latency: projection.seconds))
      } catch {
        failures.append((file, "\(error)"))
      }
    }
    rows.sort { a, b in
      switch order {
      case .name: a.architecture.name < b.architecture.name
      case .total: a.architecture.totalParameters > b.architecture.totalParameters
      case .active: a.architecture.activeParameters > b.architecture.activeParameters
      case .share: a.share > b.share
      case .flops: a.flops > b.flops
      case .cache: a.cacheBytesPerToken > b.cacheBytesPerToken
      case .latency: a.latency > b.latency
      }
    }
    return (rows, failures)
  }

  /// The table in `format`.
  static func render(_ rows: [Row], settings: Settings, format: CostTables.OutputFormat) -> String {
    var table = Table(
      header: [
        "model", "total_parameters", "active_parameters", "active_share", "forward_gflops_per_token",
        "cache_kb_per_token", "decode_ms",
      ],
      alignments: [.left] + Array(repeating: .right, count: 6))
    let markdown = format == .markdown
    /// The value rounded for reading in Markdown, or in full for CSV and JSON.
    func cell(_ value: Double, scale: Double = 1, digits: Int, suffix: String = "") -> String {
      markdown ? Format.fixed(value / scale, digits) + suffix : "\(value / scale)"
    }
    for r in rows {
      let a = r.architecture
      table.append([
        a.name,
        markdown
          ? cell(Double(a.totalParameters), scale: 1e9, digits: 2, suffix: "B") : "\(a.totalParameters)",
        markdown
          ? cell(Double(a.activeParameters), scale: 1e9, digits: 2, suffix: "B") : "\(a.activeParameters)",
        markdown ? cell(r.share * 100, digits: 1, suffix: " %") : "\(r.share)",
        cell(r.flops, scale: 1e9, digits: 1), cell(r.cacheBytesPerToken, scale: 1000, digits: 1),
        cell(r.latency * 1e3, digits: 2),
      ])
    }
    switch format {
    case .markdown:
      return """
        \(rows.count) models; \(settings.description); cache per token = the cache of one sequence at the context ÷ \
        the context (windowed layers hold at most their window); active parameters include the embedding table
        \(table.markdown)
        """
    case .csv: return table.csv
    case .json:
      return table.jsonRecords(numericColumns: Set(table.header.dropFirst()))
    }
  }
}
