#pragma once
// Durable spool: see common/src/spool.cpp (being written).
