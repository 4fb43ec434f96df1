#include "aisle/common/spool.h"
