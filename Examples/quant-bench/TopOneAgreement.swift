import Foundation
import Linalg
import MoE
import ModelIO
import Report

/// The share of positions whose top-1 token is unchanged when a whole model's weights are
/// held in a compact format, over every model folder in `folder` (the fixtures
/// `scripts/make-model-fixtures.sh` writes: random weights that `transformers` checks,
/// each with the prompt and greedy continuation of its `reference.json`).
struct TopOneAgreement {
  var folder: String

  /// The model folders of `folder` (those with a `config.json` and a `reference.json`),
  /// sorted.
  func models() throws -> [String] {
    let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
    return names.map { folder + "/" + $0 }.filter {
      FileManager.default.fileExists(atPath: $0 + "/config.json")
        && FileManager.default.fileExists(atPath: $0 + "/reference.json")
    }
  }

  /// One row per format: seconds of every model's logits, Float's time ÷ it, and the share
  /// of positions (prompt and continuation) whose arg-max matches float32's.
  func rows(formats: [WeightMatrix.Format?]) throws -> [Row] {
    let folders = try models()
    var sequences: [[Int]] = []
    for path in folders {
      let data = try Data(contentsOf: URL(fileURLWithPath: path + "/reference.json"))
      let reference = try JSONSerialization.jsonObject(with: data) as? [String: Any]
      let prompt = reference?["prompt"] as? [Int] ?? []
      let generated = reference?["generated"] as? [Int] ?? []
      sequences.append(prompt + generated)
    }
    var floatChoices: [[Int]] = []
    var floatTime = Double.nan
    var rows: [Row] = []
    for format in formats {
      var choices: [[Int]] = []
      var seconds = 0.0
      for (path, tokens) in zip(folders, sequences) where !tokens.isEmpty {
        let loaded = try HuggingFaceModel(
          folder: path, weightFormat: format.flatMap { .init(rawValue: $0.rawValue) } ?? .float32)
        var logits = Matrix<Float>(rows: 0, columns: 0)
        seconds += Stopwatch.seconds { logits = loaded.model.logits(tokens, layout: .single(tokens.count)) }
        choices.append(
          (0..<logits.rows).map { t in (0..<logits.columns).max { logits[t, $0] < logits[t, $1] }! })
      }
      if format == nil { (floatChoices, floatTime) = (choices, seconds) }
      let positions = floatChoices.reduce(0) { $0 + $1.count }
      let same = zip(choices, floatChoices).reduce(0) { sum, pair in
        sum + zip(pair.0, pair.1).filter { $0 == $1 }.count
      }
      rows.append(
        Row(
          measure: "\(choices.count) whole models, \(positions) positions", format: format, seconds: seconds,
          ideal: nil, speedUp: floatTime / seconds, error: nil,
          agreement: positions == 0 ? nil : Double(same) / Double(positions)))
    }
    return rows
  }
}
