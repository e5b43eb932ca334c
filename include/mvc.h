#ifndef MVC_H
#define MVC_H
/*
 * libmvc: version control for machine-learning model weights.
 * See mvc(1) for the tool and mvc-format(5) for the storage format.
 */
#include "mvc/common.h"
#include "mvc/model.h"
#include "mvc/codec.h"
#include "mvc/manifest.h"
#include "mvc/repo.h"
#include "mvc/sign.h"
#include "mvc/version.h"
#include "mvc/commit.h"
#include "mvc/checkout.h"
#include "mvc/status.h"
#include "mvc/refs.h"
#include "mvc/channel.h"
#include "mvc/rollback.h"
#include "mvc/diff.h"
#include "mvc/check.h"
#include "mvc/fsck.h"
#include "mvc/aggregate.h"
#include "mvc/remote.h"
#include "mvc/score.h"
#include "mvc/store.h"

#endif
