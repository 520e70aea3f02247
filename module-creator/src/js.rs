// SPDX-License-Identifier: MPL-2.0
//! JavaScript client modules (placeholder while being written).
