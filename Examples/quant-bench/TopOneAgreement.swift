import ArgumentParser
import CostModel
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
  /// The model folders (those of the folder given with a `config.json` and a
  /// `reference.json`), sorted.
  var folders: [String]
  /// Each folder's prompt and greedy continuation.
  var sequences: [[Int]]

  /// The models in `folder`, their reference files read and checked.
  ///
  /// - Throws: `ValidationError` naming a folder that cannot be listed or a reference file
  ///   that is not a list of whole, non-negative token ids.
  init(folder: String) throws {
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
    } catch {
      throw ValidationError("--models \(folder) cannot be listed")
    }
    folders = names.map { folder + "/" + $0 }.filter {
      FileManager.default.fileExists(atPath: $0 + "/config.json")
        && FileManager.default.fileExists(atPath: $0 + "/reference.json")
    }
    sequences = try folders.map { try Self.referenceTokens(in: $0) }
  }

  /// One row per format: seconds of every model's logits, Float's time ÷ it, and the share
  /// of positions (prompt and continuation) whose arg-max matches float32's.
  func rows(formats: [WeightMatrix.Format?], measured: (String) -> Void = { _ in }) throws -> [Row] {
    var floatChoices: [[Int]] = []
    var floatTime = Double.nan
    var rows: [Row] = []
    for format in formats {
      var choices: [[Int]] = []
      var seconds = 0.0
      for (path, tokens) in zip(folders, sequences) where !tokens.isEmpty {
        let loaded: HuggingFaceModel
        do {
          loaded = try HuggingFaceModel(
            folder: path, weightFormat: format.flatMap { .init(rawValue: $0.rawValue) } ?? .float32)
        } catch {
          throw ValidationError("model \(path): \(error)")  // one of several: say which
        }
        var logits = Matrix<Float>(rows: 0, columns: 0)
        guard tokens.allSatisfy({ $0 < loaded.model.vocabulary }) else {
          throw ValidationError(
            "\(path)/reference.json: a token id is not below the model's vocabulary of \(loaded.model.vocabulary)"
          )
        }
        seconds += Stopwatch.seconds { logits = loaded.model.logits(tokens, layout: .single(tokens.count)) }
        guard logits.nonFiniteRows().isEmpty else {
          throw ValidationError(
            "\(path) gives non-finite logits held as \(format?.rawValue ?? "float32"): no agreement can be measured on it"
          )
        }
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
      measured(format?.rawValue ?? "float32")
    }
    return rows
  }

  /// The prompt followed by the greedy continuation in `folder`'s `reference.json`.
  ///
  /// - Throws: `ValidationError` naming the file and field when it is not JSON or a field is
  ///   not a list of whole, non-negative token ids.
  static func referenceTokens(in folder: String) throws -> [Int] {
    let path = folder + "/reference.json"
    let fields: [String: JSONValue]
    do {
      guard case .object(let object) = try JSONValue.parse(try InputFile.contents(of: path)) else {
        throw ValidationError("\(path) is not a JSON object")
      }
      fields = object
    } catch let error as ValidationError {
      throw error
    } catch {
      throw ValidationError("\(path): \(error)")
    }
    return try ["prompt", "generated"].flatMap { field -> [Int] in
      guard case .array(let values)? = fields[field] else {
        throw ValidationError("\(path): \"\(field)\" is missing or not a list of token ids")
      }
      return try values.map { value in
        guard case .number(let x) = value, x >= 0, x < 2_147_483_648, x.rounded() == x else {
          throw ValidationError("\(path): \"\(field)\" holds \(value), not a whole token id in 0..<2^31")
        }
        return Int(x)
      }
    }
  }
}
