//! A small, safe reader for the subset of Python's pickle format that `torch.save` writes.
//!
//! candle ships a pickle reader (`candle_core::pickle`), but it only reads zip-format files,
//! cannot read the pre-1.6 legacy format (its `LONG1` decoding overflows on the legacy magic
//! number), prints to stderr and skips entries it does not understand, and allocates buffers
//! from lengths read in the file. This module is a stack machine over an in-memory byte slice
//! that never panics on malformed input and reports the byte offset of every error.
//!
//! Python objects are not reconstructed: calls (`REDUCE`, `NEWOBJ`) and `BUILD` stay symbolic
//! ([`Value::Call`], [`Value::Build`]) so that the torch layer can interpret the few callables
//! a state dict uses. The memo stores snapshots rather than shared references, which is
//! enough for torch state dicts (only immutable values are fetched back from the memo).

use std::collections::HashMap;

/// Deepest nesting of containers and calls accepted.
pub const MAX_DEPTH: u32 = 200;

/// A decoded pickle value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Python `None`.
    None,
    /// Python `bool`.
    Bool(bool),
    /// A Python `int` that fits in 64 bits.
    Int(i64),
    /// A Python `int` that does not fit in 64 bits: little-endian two's complement bytes.
    BigInt(Vec<u8>),
    /// Python `float`.
    Float(f64),
    /// Python `str` (and Python 2 `str`, decoded as Latin-1).
    Str(String),
    /// Python `bytes`.
    Bytes(Vec<u8>),
    /// Python `tuple`.
    Tuple(Vec<Value>),
    /// Python `list`.
    List(Vec<Value>),
    /// Python `dict` (or `collections.OrderedDict`), in insertion order.
    Dict(Vec<(Value, Value)>),
    /// A global reference such as `torch._utils._rebuild_tensor_v2`.
    Global {
        /// Module path, e.g. `torch._utils`.
        module: String,
        /// Attribute name, e.g. `_rebuild_tensor_v2`.
        name: String,
        /// Byte offset of its opcode in the pickle, for errors about it.
        offset: usize,
    },
    /// `callable(*args)`, from `REDUCE` or `NEWOBJ`.
    Call {
        /// What is called (usually a [`Value::Global`]).
        callable: Box<Value>,
        /// The argument tuple.
        args: Box<Value>,
    },
    /// `obj.__setstate__(state)`, from `BUILD` on anything that is not a dict.
    Build {
        /// The object being built.
        object: Box<Value>,
        /// Its state.
        state: Box<Value>,
    },
    /// A persistent id (`BINPERSID`): torch uses these to refer to tensor storages.
    PersistentId(Box<Value>),
}

impl Value {
    /// A short description of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Global { .. } => "global",
            Value::Call { .. } => "call",
            Value::Build { .. } => "build",
            Value::PersistentId(_) => "persistent id",
        }
    }

    /// The string, if this is a `str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an `int` that fits in 64 bits.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// Whether this is the global `module.name`.
    pub fn is_global(&self, module: &str, name: &str) -> bool {
        matches!(self, Value::Global { module: m, name: n, .. } if m == module && n == name)
    }
}

/// What went wrong while decoding a pickle.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PickleErrorKind {
    /// The input ended inside an opcode or before `STOP`.
    #[error("unexpected end of data (truncated file?)")]
    UnexpectedEof,
    /// An opcode this reader does not implement (or not a pickle at all).
    #[error("unsupported or invalid pickle opcode 0x{0:02x}")]
    UnknownOpcode(u8),
    /// An opcode needed more values than the stack held.
    #[error("stack underflow")]
    StackUnderflow,
    /// An opcode that pops to a MARK found none.
    #[error("no MARK on the stack")]
    NoMark,
    /// `GET` of a memo slot that was never `PUT`.
    #[error("memo slot {0} is empty")]
    MissingMemo(u32),
    /// An opcode found the wrong kind of value on the stack.
    #[error("expected {expected}, found {found}")]
    Type {
        /// What the opcode needs.
        expected: &'static str,
        /// What it found.
        found: &'static str,
    },
    /// A `str` that is not valid UTF-8, or a text argument that does not parse.
    #[error("invalid text argument: {0}")]
    BadText(String),
    /// Values nested deeper than [`MAX_DEPTH`] (a state dict nests about 6 deep; this guards
    /// the recursive drop and clone of [`Value`] against hostile files).
    #[error("values nested deeper than {MAX_DEPTH}")]
    TooDeep,
    /// `STOP` with an empty stack, or more than one value left.
    #[error("pickle ended with {0} values on the stack, expected 1")]
    BadFinalStack(usize),
}

/// A pickle decoding error with the byte offset (within the pickle's buffer) where it happened.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("at byte {offset}: {kind}")]
pub struct PickleError {
    /// Offset of the opcode (or argument) that failed.
    pub offset: usize,
    /// What failed.
    pub kind: PickleErrorKind,
}

enum Slot {
    Mark,
    /// A value and its nesting depth (0 for scalars).
    Value(Value, u32),
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    op_pos: usize,
    stack: Vec<Slot>,
    memo: HashMap<u32, (Value, u32)>,
}

/// Decodes one pickle starting at `data[0]`. Returns the value and the number of bytes it
/// used (the position just after `STOP`), so that concatenated pickles can be read in turn.
pub fn load(data: &[u8]) -> Result<(Value, usize), PickleError> {
    let mut m = Machine {
        data,
        pos: 0,
        op_pos: 0,
        stack: Vec::with_capacity(64),
        memo: HashMap::new(),
    };
    let value = m.run()?;
    Ok((value, m.pos))
}

impl<'a> Machine<'a> {
    fn err(&self, kind: PickleErrorKind) -> PickleError {
        PickleError {
            offset: self.op_pos,
            kind,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| self.err(PickleErrorKind::UnexpectedEof))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn len_u32(&mut self) -> Result<usize, PickleError> {
        Ok(u32::from_le_bytes(self.array()?) as usize)
    }

    fn len_u64(&mut self) -> Result<usize, PickleError> {
        let n = u64::from_le_bytes(self.array()?);
        usize::try_from(n).map_err(|_| self.err(PickleErrorKind::UnexpectedEof))
    }

    fn line(&mut self) -> Result<&'a str, PickleError> {
        let rest = &self.data[self.pos..];
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.err(PickleErrorKind::UnexpectedEof))?;
        let bytes = self.take(nl + 1)?;
        let line = &bytes[..nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        std::str::from_utf8(line).map_err(|e| self.err(PickleErrorKind::BadText(e.to_string())))
    }

    fn utf8(&self, bytes: &[u8]) -> Result<String, PickleError> {
        String::from_utf8(bytes.to_vec())
            .map_err(|e| self.err(PickleErrorKind::BadText(e.to_string())))
    }

    /// The depth of a value holding children of depth `child`.
    fn outer(&self, child: u32) -> Result<u32, PickleError> {
        if child >= MAX_DEPTH {
            return Err(self.err(PickleErrorKind::TooDeep));
        }
        Ok(child + 1)
    }

    fn push(&mut self, v: Value) {
        self.stack.push(Slot::Value(v, 0));
    }

    fn push_nested(&mut self, v: Value, depth: u32) {
        self.stack.push(Slot::Value(v, depth));
    }

    fn pop(&mut self) -> Result<(Value, u32), PickleError> {
        match self.stack.pop() {
            Some(Slot::Value(v, d)) => Ok((v, d)),
            Some(Slot::Mark) => Err(self.err(PickleErrorKind::Type {
                expected: "a value",
                found: "MARK",
            })),
            None => Err(self.err(PickleErrorKind::StackUnderflow)),
        }
    }

    fn top(&mut self) -> Result<(&mut Value, &mut u32), PickleError> {
        let err_underflow = self.err(PickleErrorKind::StackUnderflow);
        let err_mark = self.err(PickleErrorKind::Type {
            expected: "a value",
            found: "MARK",
        });
        match self.stack.last_mut() {
            Some(Slot::Value(v, d)) => Ok((v, d)),
            Some(Slot::Mark) => Err(err_mark),
            None => Err(err_underflow),
        }
    }

    /// Pops back to the last MARK; returns the values and their greatest depth.
    fn pop_mark(&mut self) -> Result<(Vec<Value>, u32), PickleError> {
        let idx = self
            .stack
            .iter()
            .rposition(|s| matches!(s, Slot::Mark))
            .ok_or_else(|| self.err(PickleErrorKind::NoMark))?;
        let items = self.stack.split_off(idx + 1);
        self.stack.pop();
        let mut depth = 0;
        let values = items
            .into_iter()
            .filter_map(|s| match s {
                Slot::Value(v, d) => {
                    depth = depth.max(d);
                    Some(v)
                }
                Slot::Mark => None,
            })
            .collect();
        Ok((values, depth))
    }

    fn memo_get(&self, key: u32) -> Result<(Value, u32), PickleError> {
        self.memo
            .get(&key)
            .cloned()
            .ok_or_else(|| self.err(PickleErrorKind::MissingMemo(key)))
    }

    fn memo_put(&mut self, key: u32) -> Result<(), PickleError> {
        let (v, d) = self.top()?;
        let entry = (v.clone(), *d);
        self.memo.insert(key, entry);
        Ok(())
    }

    fn set_items(&mut self, items: Vec<Value>, depth: u32) -> Result<(), PickleError> {
        if !items.len().is_multiple_of(2) {
            return Err(self.err(PickleErrorKind::Type {
                expected: "key/value pairs",
                found: "an odd number of items",
            }));
        }
        let outer = self.outer(depth)?;
        let op_pos = self.op_pos;
        let (top, top_depth) = self.top()?;
        let Value::Dict(d) = top else {
            let found = top.kind();
            return Err(PickleError {
                offset: op_pos,
                kind: PickleErrorKind::Type {
                    expected: "dict",
                    found,
                },
            });
        };
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            d.push((k, v));
        }
        *top_depth = (*top_depth).max(outer);
        Ok(())
    }

    fn append(&mut self, items: Vec<Value>, depth: u32) -> Result<(), PickleError> {
        let outer = self.outer(depth)?;
        let op_pos = self.op_pos;
        let (top, top_depth) = self.top()?;
        let Value::List(l) = top else {
            let found = top.kind();
            return Err(PickleError {
                offset: op_pos,
                kind: PickleErrorKind::Type {
                    expected: "list",
                    found,
                },
            });
        };
        l.extend(items);
        *top_depth = (*top_depth).max(outer);
        Ok(())
    }

    fn call(&mut self, callable: Value, args: Value) -> Value {
        // An OrderedDict is rebuilt as a plain dict so that SETITEMS can fill it.
        if callable.is_global("collections", "OrderedDict") {
            return Value::Dict(Vec::new());
        }
        Value::Call {
            callable: Box::new(callable),
            args: Box::new(args),
        }
    }

    fn long(&self, bytes: &[u8]) -> Value {
        if bytes.is_empty() {
            return Value::Int(0);
        }
        if bytes.len() <= 8 {
            let negative = bytes[bytes.len() - 1] & 0x80 != 0;
            let mut buf = if negative { [0xffu8; 8] } else { [0u8; 8] };
            buf[..bytes.len()].copy_from_slice(bytes);
            Value::Int(i64::from_le_bytes(buf))
        } else {
            Value::BigInt(bytes.to_vec())
        }
    }

    fn run(&mut self) -> Result<Value, PickleError> {
        loop {
            self.op_pos = self.pos;
            let op = self.u8()?;
            match op {
                // PROTO
                0x80 => {
                    self.u8()?;
                }
                // FRAME: framing is only a read-ahead hint.
                0x95 => {
                    self.take(8)?;
                }
                // STOP
                b'.' => {
                    let n = self.stack.len();
                    if n != 1 {
                        return Err(self.err(PickleErrorKind::BadFinalStack(n)));
                    }
                    return Ok(self.pop()?.0);
                }
                b'(' => self.stack.push(Slot::Mark),
                // POP
                b'0' => {
                    self.stack
                        .pop()
                        .ok_or_else(|| self.err(PickleErrorKind::StackUnderflow))?;
                }
                // POP_MARK
                b'1' => {
                    self.pop_mark()?;
                }
                // DUP
                b'2' => {
                    let (v, d) = self.top()?;
                    let (v, d) = (v.clone(), *d);
                    self.push_nested(v, d);
                }
                b'N' => self.push(Value::None),
                0x88 => self.push(Value::Bool(true)),
                0x89 => self.push(Value::Bool(false)),
                // BININT, BININT1, BININT2
                b'J' => {
                    let v = i32::from_le_bytes(self.array()?);
                    self.push(Value::Int(v.into()));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.push(Value::Int(v.into()));
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.array()?);
                    self.push(Value::Int(v.into()));
                }
                // INT (protocol 0 text; "01"/"00" are True/False)
                b'I' => {
                    let line = self.line()?;
                    let v = match line {
                        "01" => Value::Bool(true),
                        "00" => Value::Bool(false),
                        s => Value::Int(s.parse().map_err(|_| {
                            self.err(PickleErrorKind::BadText(format!("INT {s:?}")))
                        })?),
                    };
                    self.push(v);
                }
                // LONG1, LONG4
                0x8a => {
                    let n = self.u8()? as usize;
                    let bytes = self.take(n)?;
                    let v = self.long(bytes);
                    self.push(v);
                }
                0x8b => {
                    let n = self.len_u32()?;
                    let bytes = self.take(n)?;
                    let v = self.long(bytes);
                    self.push(v);
                }
                // BINFLOAT (big-endian, unlike the integers)
                b'G' => {
                    let v = f64::from_be_bytes(self.array()?);
                    self.push(Value::Float(v));
                }
                // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
                b'X' | 0x8c | 0x8d => {
                    let n = match op {
                        b'X' => self.len_u32()?,
                        0x8c => self.u8()? as usize,
                        _ => self.len_u64()?,
                    };
                    let bytes = self.take(n)?;
                    let s = self.utf8(bytes)?;
                    self.push(Value::Str(s));
                }
                // BINSTRING, SHORT_BINSTRING: Python 2 str, decoded as Latin-1.
                b'T' | b'U' => {
                    let n = if op == b'T' {
                        self.len_u32()?
                    } else {
                        self.u8()? as usize
                    };
                    let bytes = self.take(n)?;
                    self.push(Value::Str(bytes.iter().map(|&b| b as char).collect()));
                }
                // BINBYTES, SHORT_BINBYTES, BINBYTES8
                b'B' | b'C' | 0x8e => {
                    let n = match op {
                        b'B' => self.len_u32()?,
                        b'C' => self.u8()? as usize,
                        _ => self.len_u64()?,
                    };
                    let bytes = self.take(n)?;
                    self.push(Value::Bytes(bytes.to_vec()));
                }
                b')' => self.push_nested(Value::Tuple(Vec::new()), 1),
                b't' => {
                    let (items, d) = self.pop_mark()?;
                    let d = self.outer(d)?;
                    self.push_nested(Value::Tuple(items), d);
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = Vec::with_capacity(n);
                    let mut d = 0;
                    for _ in 0..n {
                        let (v, vd) = self.pop()?;
                        d = d.max(vd);
                        items.push(v);
                    }
                    items.reverse();
                    let d = self.outer(d)?;
                    self.push_nested(Value::Tuple(items), d);
                }
                b']' => self.push_nested(Value::List(Vec::new()), 1),
                b'l' => {
                    let (items, d) = self.pop_mark()?;
                    let d = self.outer(d)?;
                    self.push_nested(Value::List(items), d);
                }
                b'a' => {
                    let (v, d) = self.pop()?;
                    self.append(vec![v], d)?;
                }
                b'e' => {
                    let (items, d) = self.pop_mark()?;
                    self.append(items, d)?;
                }
                b'}' => self.push_nested(Value::Dict(Vec::new()), 1),
                b'd' => {
                    let (items, d) = self.pop_mark()?;
                    self.push_nested(Value::Dict(Vec::new()), 1);
                    self.set_items(items, d)?;
                }
                b's' => {
                    let (v, vd) = self.pop()?;
                    let (k, kd) = self.pop()?;
                    self.set_items(vec![k, v], vd.max(kd))?;
                }
                b'u' => {
                    let (items, d) = self.pop_mark()?;
                    self.set_items(items, d)?;
                }
                // GLOBAL
                b'c' => {
                    let module = self.line()?.to_string();
                    let name = self.line()?.to_string();
                    let offset = self.op_pos;
                    self.push(Value::Global {
                        module,
                        name,
                        offset,
                    });
                }
                // STACK_GLOBAL
                0x93 => {
                    let (name, _) = self.pop()?;
                    let (module, _) = self.pop()?;
                    match (module, name) {
                        (Value::Str(module), Value::Str(name)) => {
                            let offset = self.op_pos;
                            self.push(Value::Global {
                                module,
                                name,
                                offset,
                            })
                        }
                        (m, n) => {
                            let found = if m.as_str().is_none() {
                                m.kind()
                            } else {
                                n.kind()
                            };
                            return Err(self.err(PickleErrorKind::Type {
                                expected: "str module and name",
                                found,
                            }));
                        }
                    }
                }
                // REDUCE, NEWOBJ
                b'R' | 0x81 => {
                    let (args, ad) = self.pop()?;
                    let (callable, cd) = self.pop()?;
                    let d = self.outer(ad.max(cd))?;
                    let v = self.call(callable, args);
                    self.push_nested(v, d);
                }
                // BUILD: state set on a dict (OrderedDict attributes such as torch's
                // `_metadata`) carries no tensors and is dropped.
                b'b' => {
                    let (state, sd) = self.pop()?;
                    let (object, od) = self.pop()?;
                    match object {
                        Value::Dict(d) => self.push_nested(Value::Dict(d), od),
                        object => {
                            let d = self.outer(sd.max(od))?;
                            let v = Value::Build {
                                object: Box::new(object),
                                state: Box::new(state),
                            };
                            self.push_nested(v, d);
                        }
                    }
                }
                // BINPERSID
                b'Q' => {
                    let (id, d) = self.pop()?;
                    let d = self.outer(d)?;
                    self.push_nested(Value::PersistentId(Box::new(id)), d);
                }
                // BINGET, LONG_BINGET
                b'h' => {
                    let k = self.u8()?;
                    let (v, d) = self.memo_get(k.into())?;
                    self.push_nested(v, d);
                }
                b'j' => {
                    let k = u32::from_le_bytes(self.array()?);
                    let (v, d) = self.memo_get(k)?;
                    self.push_nested(v, d);
                }
                // BINPUT, LONG_BINPUT, MEMOIZE
                b'q' => {
                    let k = self.u8()?;
                    self.memo_put(k.into())?;
                }
                b'r' => {
                    let k = u32::from_le_bytes(self.array()?);
                    self.memo_put(k)?;
                }
                0x94 => {
                    let k = u32::try_from(self.memo.len()).unwrap_or(u32::MAX);
                    self.memo_put(k)?;
                }
                other => return Err(self.err(PickleErrorKind::UnknownOpcode(other))),
            }
        }
    }
}
